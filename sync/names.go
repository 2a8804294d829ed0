package sync

import "strings"

// What each kind of name must look like, for error messages. They follow Kubernetes' rules, so
// that every name a peer cluster can have is accepted, and DNS's, so that every name can be asked.
const (
	labelRule    = "a DNS label: at most 63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit"
	dns1035Rule  = "a DNS-1035 label: at most 63 characters of a-z, 0-9 and '-', starting with a letter and ending with a letter or digit"
	portNameRule = "an IANA service name: at most 15 characters of a-z, 0-9 and '-', at least one letter, no '-' at either end or twice in a row"
	hostnameRule = "a DNS name of labels of a-z, 0-9 and '-', at most 253 characters"
)

// isLabel reports whether s is a lower-case RFC 1123 label: cluster names and namespaces.
func isLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLower(s[i]) && !isDigit(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// isDNS1035Label reports whether s is a label that starts with a letter: service names.
func isDNS1035Label(s string) bool {
	return isLabel(s) && isLower(s[0])
}

// isPortName reports whether s is an IANA service name, as Kubernetes requires of port names.
func isPortName(s string) bool {
	if len(s) == 0 || len(s) > 15 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	letter := false
	for i := 0; i < len(s); i++ {
		switch {
		case isLower(s[i]):
			letter = true
		case isDigit(s[i]) || s[i] == '-':
		default:
			return false
		}
	}
	return letter
}

// isHostname reports whether s (lower case, no trailing dot) is a DNS name that can be looked up.
func isHostname(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if !isLabel(label) {
			return false
		}
	}
	return true
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
