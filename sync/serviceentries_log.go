package sync

import (
	"strings"

	"go.uber.org/zap"
)

// logEntries logs, once per change of an entry, why it is skipped (a warning) or which of its
// parts are left out (debug); entries gone are forgotten.
func (s *ServiceEntries) logEntries(entries []*cachedEntry) {
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		key := e.key()
		seen[key] = true
		said := strings.Join(e.spec.problems, "\n") + "\x00" + strings.Join(e.spec.notes, "\n")
		if s.logged[key] == said {
			continue
		}
		s.logged[key] = said
		switch {
		case len(e.spec.problems) > 0:
			s.log.Warn("service entry skipped: malformed", zap.String("service_entry", key),
				zap.Strings("fields", e.spec.problems))
		case len(e.spec.notes) > 0:
			s.log.Debug("service entry read in part", zap.String("service_entry", key),
				zap.Strings("left_out", e.spec.notes), zap.Int("services", len(e.spec.services)))
		}
	}
	for key := range s.logged {
		if !seen[key] {
			delete(s.logged, key)
		}
	}
}
