package stubdomain

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The lines around peerdns's server block in a Corefile.
const (
	BeginMarker = "# peerdns begin"
	EndMarker   = "# peerdns end"
)

// ErrMarkers is returned for a Corefile whose peerdns markers are not one begin followed by one
// end.
var ErrMarkers = errors.New("broken peerdns markers")

// block is where peerdns's block sits in a Corefile: [start, end) from the first byte of the
// begin line to just after the end line's newline (or the end of the text).
type block struct {
	start, end int
	found      bool
}

// findBlock locates the marker lines. A marker is a line that holds only the marker text,
// white space around it aside.
func findBlock(corefile string) (block, error) {
	var b block
	begin, lineNo, pos := 0, 0, 0
	for pos < len(corefile) {
		lineNo++
		next := strings.IndexByte(corefile[pos:], '\n')
		end := len(corefile)
		if next >= 0 {
			end = pos + next + 1
		}
		switch strings.TrimSpace(corefile[pos:end]) {
		case BeginMarker:
			if begin > 0 || b.found {
				return b, fmt.Errorf("%s: a second %q at line %d: %w", CoreDNS.Ref(), BeginMarker, lineNo, ErrMarkers)
			}
			begin, b.start = lineNo, pos
		case EndMarker:
			if begin == 0 {
				return b, fmt.Errorf("%s: %q at line %d without %q before it: %w", CoreDNS.Ref(), EndMarker, lineNo, BeginMarker, ErrMarkers)
			}
			begin, b.end, b.found = 0, end, true
		}
		pos = end
	}
	if begin > 0 {
		return b, fmt.Errorf("%s: %q at line %d without %q after it: %w", CoreDNS.Ref(), BeginMarker, begin, EndMarker, ErrMarkers)
	}
	return b, nil
}

// withoutBlock returns the Corefile without peerdns's block, and the offset where it was (the
// end of the text when there was none). A block that ends the text without a final newline
// takes the newline before it too: that is how appendBlock adds it.
func withoutBlock(corefile string, b block) (string, int) {
	if !b.found {
		return corefile, len(corefile)
	}
	start := b.start
	if !strings.HasSuffix(corefile[:b.end], "\n") && start > 0 && corefile[start-1] == '\n' {
		start--
	}
	return corefile[:start] + corefile[b.end:], start
}

// insertBlock puts text (a block ending in a newline) at offset at of corefile, which is the
// start of a line or the end of the text. At the end of a text without a final newline, the
// block goes on a new line and its own final newline is dropped, so that withoutBlock gives
// the text back.
func insertBlock(corefile string, at int, text string) string {
	if at == len(corefile) && corefile != "" && !strings.HasSuffix(corefile, "\n") {
		return corefile + "\n" + strings.TrimSuffix(text, "\n")
	}
	return corefile[:at] + text + corefile[at:]
}

// renderBlock writes peerdns's server block, markers included.
func renderBlock(zones []string, port, server string) string {
	var b strings.Builder
	b.WriteString(BeginMarker + "\n")
	for i, z := range zones {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(z + ":" + port)
	}
	b.WriteString(" {\n    errors\n    cache 30\n    forward . " + server + "\n}\n")
	b.WriteString(EndMarker + "\n")
	return b.String()
}

// EditCorefile returns corefile with peerdns's block made to forward want's zones (nil: without
// the block). The block keeps its place when there is one, else it goes at the end; every other
// byte is kept. The zones listen on the port of the Corefile's root server block ('.', 53 when
// it gives none). The result is parsed before it is returned: one that does not parse, or where
// another server block serves one of the zones on that port, is an error.
func EditCorefile(corefile string, want *Spec) (string, error) {
	b, err := findBlock(corefile)
	if err != nil {
		return "", err
	}
	outside, at := withoutBlock(corefile, b)
	if want == nil {
		return outside, nil
	}
	blocks, err := parseCorefile(outside)
	if err != nil {
		return "", fmt.Errorf("%s does not parse as it is (peerdns's block left out): %w", CoreDNS.Ref(), err)
	}
	port := rootPort(blocks)
	if err := checkClash(blocks, want.Zones, port); err != nil {
		return "", err
	}
	out := insertBlock(outside, at, renderBlock(want.Zones, port, want.Server))
	if _, err := parseCorefile(out); err != nil {
		return "", fmt.Errorf("%s would not parse with peerdns's block: %w", CoreDNS.Ref(), err)
	}
	return out, nil
}

// editCoreDNS makes peerdns's block in cm's Corefile exactly want (nil: none), in place.
func editCoreDNS(cm *corev1.ConfigMap, want *Spec) ([]string, error) {
	corefile, ok := cm.Data[CoreDNSKey]
	if !ok && want != nil {
		return nil, fmt.Errorf("%s: no Corefile key: the ConfigMap is not CoreDNS's configuration", CoreDNS.Ref())
	}
	out, err := EditCorefile(corefile, want)
	if err != nil {
		return nil, err
	}
	if ok {
		cm.Data[CoreDNSKey] = out
	}
	return nil, nil
}

// coreDNSState reads peerdns's block of the Corefile in cm.
func coreDNSState(cm *corev1.ConfigMap) (State, error) {
	var st State
	corefile := cm.Data[CoreDNSKey]
	b, err := findBlock(corefile)
	if err != nil || !b.found {
		return st, err
	}
	blocks, err := parseCorefile(corefile[b.start:b.end])
	if err != nil {
		return st, fmt.Errorf("%s: peerdns's block does not parse: %w", CoreDNS.Ref(), err)
	}
	st.Installed = true
	for _, sb := range blocks {
		for _, key := range sb.Keys {
			if zones, _, _, err := keyZones(key); err == nil {
				for _, z := range zones {
					st.Zones = append(st.Zones, strings.TrimSuffix(z, "."))
				}
			}
		}
		if st.Server == "" {
			st.Server = forwardTo(sb)
		}
	}
	return st, nil
}
