package resolver

import "strings"

// maxName is the longest domain name in presentation form we look at (RFC 1035: 255 octets on
// the wire; escapes can make the text longer, and a name with escapes never matches ours).
const maxName = 255

// lowerName writes name in lower case (ASCII only, as DNS compares) and fully qualified into
// buf, and returns the written part. plain is false when the name has escapes (such as "\." or
// "\032", for octets that no name of ours has): it can be in a zone, but it is none of our names.
// out is nil for a name longer than any domain name.
func lowerName(buf *[maxName + 1]byte, name string) (out []byte, plain bool) {
	n := len(name)
	if n == 0 || n > maxName {
		return nil, false
	}
	plain = true
	for i := 0; i < n; i++ {
		ch := name[i]
		if ch == '\\' {
			plain = false
		}
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	if name[n-1] != '.' {
		buf[n] = '.'
		n++
	}
	return buf[:n], plain
}

// inZone reports whether name (lower case, fully qualified) is zone or below it, and returns
// the part of name in front of the zone without its trailing dot: "" for the apex itself.
func inZone(name []byte, zone string) (rel []byte, ok bool) {
	if zone == "." {
		if len(name) == 1 {
			return name[:0], true
		}
		return name[:len(name)-1], true
	}
	if len(name) < len(zone) || string(name[len(name)-len(zone):]) != zone {
		return nil, false
	}
	if len(name) == len(zone) {
		return name[:0], true
	}
	cut := len(name) - len(zone) - 1
	if name[cut] != '.' || escaped(name, cut) {
		return nil, false // neither "xglobal." nor "x\.global." is in "global."
	}
	return name[:cut], true
}

// escaped reports whether the octet at i is escaped by the backslashes in front of it.
func escaped(name []byte, i int) bool {
	n := 0
	for i--; i >= 0 && name[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// maxDepth is the most labels any of our names has below a zone: _<port>._<proto>.<svc>.<ns>.
const maxDepth = 4

// labels is a relative name split into its labels, rightmost first: l[0] is the label next to
// the zone (a namespace), l[1] the service, and so on.
type labels struct {
	l [maxDepth][]byte
	n int
}

// splitLabels splits rel (a relative name, no trailing dot) into labels from the right. ok is
// false when the name is deeper than any of ours or has an empty label.
func splitLabels(rel []byte) (ls labels, ok bool) {
	end := len(rel)
	for i := len(rel) - 1; i >= -1; i-- {
		if i >= 0 && rel[i] != '.' {
			continue
		}
		if ls.n == maxDepth || i+1 == end {
			return ls, false
		}
		ls.l[ls.n] = rel[i+1 : end]
		ls.n++
		end = i
	}
	return ls, true
}

// validLabel reports whether s is a lower-case RFC 1123 label: [a-z0-9-], 1 to 63 long, not
// starting or ending with a hyphen. Every cluster, service and namespace name is one.
func validLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if (ch < 'a' || ch > 'z') && (ch < '0' || ch > '9') && ch != '-' {
			return false
		}
	}
	return true
}

// srvLabel returns the label of a port name or protocol in an SRV owner name: "_grpc", "_tcp".
func srvLabel(s string) string { return "_" + strings.ToLower(s) }

// equalLower reports whether s, folded to lower case, equals lower (already lower case).
func equalLower(s string, lower []byte) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != lower[i] {
			return false
		}
	}
	return true
}
