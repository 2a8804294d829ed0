package stubdomain

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	corev1 "k8s.io/api/core/v1"
)

// diff is a unified diff of every data key and peerdns annotation that differs between before
// and after, one file per key, headed by the ConfigMap and key it is about.
func diff(t Target, before, after *corev1.ConfigMap, exists bool) string {
	name, _ := t.configMap()
	ref := Namespace + "/" + name
	var out strings.Builder
	keys := slices.Sorted(maps.Keys(before.Data))
	for k := range after.Data {
		if _, ok := before.Data[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		old, had := before.Data[k]
		now, has := after.Data[k]
		if old != now || had != has {
			out.WriteString(unified(ref+" "+k, old, now, exists && had, has))
		}
	}
	old, now := peerdnsAnnotations(before), peerdnsAnnotations(after)
	if old != now {
		out.WriteString(unified(ref+" annotations", old, now, exists && old != "", now != ""))
	}
	return out.String()
}

// unified diffs one text; a side that does not exist is headed /dev/null-style with "(absent)".
func unified(what, old, now string, had, has bool) string {
	from, to := what, what
	if !had {
		from += " (absent)"
	}
	if !has {
		to += " (absent)"
	}
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: lines(old), B: lines(now), FromFile: from, ToFile: to, Context: 3,
	})
	if err != nil { // only a failing writer errs; a strings.Builder never does
		return fmt.Sprintf("--- %s\n+++ %s\n(diff failed: %v)\n", from, to, err)
	}
	return text
}

// lines splits text for difflib; a last line without newline gets one, with a marker.
func lines(text string) []string {
	if text == "" {
		return nil
	}
	ls := strings.SplitAfter(text, "\n")
	if ls[len(ls)-1] == "" {
		return ls[:len(ls)-1]
	}
	ls[len(ls)-1] += "\n\\ No newline at end of text\n"
	return ls
}

// peerdnsAnnotations writes the ConfigMap's peerdns.io annotations, one "key: value" a line.
func peerdnsAnnotations(cm *corev1.ConfigMap) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(cm.Annotations)) {
		if strings.HasPrefix(k, "peerdns.io/") {
			b.WriteString(k + ": " + cm.Annotations[k] + "\n")
		}
	}
	return b.String()
}
