package peerbench

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// ReplaceSection writes body as the section under heading (a line such as "## Propagation")
// of the Markdown file at path, up to the next heading of the same or a higher level, leaving
// every other section as it is. A missing section is appended; a missing file is created with a
// title.
func ReplaceSection(path, heading, body string) error {
	lines, err := readLines(path)
	if err != nil {
		return err
	}
	lines = replace(lines, heading, body, 0, len(lines))
	return writeLines(path, lines)
}

// ReplaceSubsection writes body as the subsection under heading (a "### " line) inside the
// section under parent (a "## " line), whose text before its first subsection becomes intro.
// Other subsections of parent, and other sections, are left as they are; a new subsection goes
// at the end of its parent.
func ReplaceSubsection(path, parent, intro, heading, body string) error {
	lines, err := readLines(path)
	if err != nil {
		return err
	}
	ps, pe := bounds(lines, parent, 0, len(lines))
	if ps < 0 {
		lines = replace(lines, parent, intro, 0, len(lines))
		ps, pe = bounds(lines, parent, 0, len(lines))
	}
	lines = replace(lines, heading, body, ps+1, pe)
	first := slices.IndexFunc(lines[ps+1:], func(l string) bool { return level(l) > 0 })
	lines = slices.Concat(lines[:ps+1], []string{""}, block("", intro), lines[ps+1+first:])
	return writeLines(path, lines)
}

// replace puts heading and body in place of the section under heading within lines[from:to],
// or at to when there is none.
func replace(lines []string, heading, body string, from, to int) []string {
	start, end := bounds(lines, heading, from, to)
	if start < 0 {
		start, end = to, to
	}
	b := block(heading, body)
	if start > 0 && lines[start-1] != "" {
		b = append([]string{""}, b...)
	}
	return slices.Concat(lines[:start], b, lines[end:])
}

// block is a heading (none when empty), a blank line, the body and a blank line.
func block(heading, body string) []string {
	var out []string
	if heading != "" {
		out = append(out, heading, "")
	}
	return append(append(out, strings.Split(strings.Trim(body, "\n"), "\n")...), "")
}

// bounds finds the section under heading within lines[from:to]: its heading's index and the
// index of the next heading of the same or a higher level (or to). start is -1 when absent.
func bounds(lines []string, heading string, from, to int) (start, end int) {
	start = slices.Index(lines[from:to], heading)
	if start < 0 {
		return -1, -1
	}
	start += from
	fenced := false
	for end = start + 1; end < to; end++ {
		line := lines[end]
		if strings.HasPrefix(line, "```") || strings.HasPrefix(line, "~~~") {
			fenced = !fenced
		}
		if l := level(line); !fenced && l > 0 && l <= level(heading) {
			break
		}
	}
	return start, end
}

// level is the level of a Markdown heading line ("## x" is 2), or 0 for other lines.
func level(line string) int {
	n := len(line) - len(strings.TrimLeft(line, "#"))
	if n == 0 || n == len(line) || line[n] != ' ' {
		return 0
	}
	return n
}

func readLines(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{"# Benchmarks", ""}, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimRight(string(data), "\n"), "\n"), nil
}

// writeLines writes lines with a final newline.
func writeLines(path string, lines []string) error {
	text := strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
	return os.WriteFile(path, []byte(text), 0o644)
}
