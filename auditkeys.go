package keiyaku

// auditKeys are the keys Cases.VerifyAudit checks the chain with: the
// current AuditKey and the rotated-out ones; nil for an unkeyed chain.
func auditKeys(cfg *Config) map[string][]byte {
	if cfg.AuditKey == nil && len(cfg.OldAuditKeys) == 0 {
		return nil
	}
	keys := map[string][]byte{}
	for _, k := range cfg.OldAuditKeys {
		keys[k.ID] = k.Secret
	}
	if cfg.AuditKey != nil {
		keys[cfg.AuditKey.ID] = cfg.AuditKey.Secret
	}
	return keys
}
