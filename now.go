package keiyaku

import "time"

// Now is the service's clock (Config.Clock): the time every rule of the
// service reads, for callers such as the portal that show it.
func (s *Service) Now() time.Time { return s.clock() }
