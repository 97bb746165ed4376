// Package keiyaku is the facade of the SDK: Open returns a ready contract
// service (cases, accounts, long-term archive, e-mail notices) wired from a
// Config, on the embedded default - SQLite and content-addressed files
// under one directory, a local development timestamping authority - when
// the Config names no collaborator of its own.
//
// Every collaborator is replaceable through Config: a storage.Store (for
// example storage/postgres) with its own storage.Blobs (S3), a
// casework.Validator, a casework.Sealer, a remote RFC 3161 TSA, an SMTP
// submission server. What Config leaves at zero is built under Config.Dir:
//
//	Dir/keiyaku.db          SQLite database (storage/sqlite)
//	Dir/blobs/              document bytes keyed by SHA-256 (gocloud.dev fileblob)
//	Dir/tsa/tsa-key.pem     development TSA key (ECDSA P-256), created on first start
//	Dir/tsa/tsa-cert.pem    its self-signed TSA certificate (RFC 3161 §2.3)
//	Dir/tsa/serial          the TSA's token serial numbers (RFC 3161 §2.4.2)
//	Dir/tmp/                intermediate files while sealing
//
// The development TSA makes the embedded default work with no setup, but
// its self-signed certificate proves nothing to anybody else: production
// must configure a real TSA (TSAConfig.URL, or TSAConfig.Signer and
// TSAConfig.Certificate issued by a CA relying parties trust).
//
// The default Validator checks every uploaded PDF with the signature
// package (ETSI EN 319 102-1 validation; ISO 32000-2 §12.8.2.2 modification
// detection for returned contracts) against Config.TrustAnchors; the
// default Sealer is the archive package (PAdES B-LTA per ETSI EN 319 142-1
// §6, RFC 3161 tokens for supplementary files). A PDF without any signature
// (a send-only contract may be sent unsigned) has nothing to raise to B-LTA:
// it is sealed with a document timestamp alone, and original verification
// reports it as not original.
//
// One directory belongs to one open Service at a time: the SQLite writer
// and the TSA serial file are not shared between processes. Several
// processes form one service on a shared storage/postgres Store and S3
// Blobs (see docs/operations.md): then the local TSA's serials are random
// (timestamp.RandomSerialStore), Dir holds only the TSA's key and
// certificate (the same in every process) and spool files, and every
// process needs the same Config.LoginKey. Service.RunJobs runs the
// scheduled jobs once across processes, among them the orphan-blob
// collection (Service.CollectOrphans); package backup backs up and
// restores the embedded default.
package keiyaku
