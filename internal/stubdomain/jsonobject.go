package stubdomain

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// jsonMember is one member of a JSON object, located in the object's text.
type jsonMember struct {
	key        string          // decoded
	value      json.RawMessage // the value's text, as written
	keyStart   int             // offset of the key's opening quote
	valueStart int             // offset of the value's first byte
	valueEnd   int             // offset just after the value
}

// jsonObject is a JSON object located in its text, so that it can be edited without touching
// the bytes of the members that are not edited.
type jsonObject struct {
	text    []byte
	open    int // offset of '{'
	close   int // offset of '}'
	members []jsonMember
}

// parseObject locates the members of the JSON object in text. The text must be exactly one
// object, with optional white space around it.
func parseObject(text []byte) (*jsonObject, error) {
	if !json.Valid(text) {
		var v any
		err := json.Unmarshal(text, &v)
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	o := &jsonObject{text: text, open: skipSpace(text, 0)}
	if o.open >= len(text) || text[o.open] != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	pos := skipSpace(text, o.open+1)
	for text[pos] != '}' {
		m, next, err := o.member(pos)
		if err != nil {
			return nil, err
		}
		o.members = append(o.members, m)
		pos = skipSpace(text, next)
		if text[pos] == ',' {
			pos = skipSpace(text, pos+1)
		}
	}
	o.close = pos
	return o, nil
}

// member reads the member whose key starts at pos; the text is known to be valid JSON.
func (o *jsonObject) member(pos int) (jsonMember, int, error) {
	m := jsonMember{keyStart: pos}
	dec := json.NewDecoder(bytes.NewReader(o.text[pos:]))
	if err := dec.Decode(&m.key); err != nil {
		return m, 0, fmt.Errorf("key at offset %d: %w", pos, err)
	}
	pos = skipSpace(o.text, pos+int(dec.InputOffset()))
	pos = skipSpace(o.text, pos+1) // the colon
	m.valueStart = pos
	dec = json.NewDecoder(bytes.NewReader(o.text[pos:]))
	if err := dec.Decode(&m.value); err != nil {
		return m, 0, fmt.Errorf("value of %q: %w", m.key, err)
	}
	m.valueEnd = pos + int(dec.InputOffset())
	m.value = o.text[m.valueStart:m.valueEnd]
	return m, m.valueEnd, nil
}

func skipSpace(b []byte, pos int) int {
	for pos < len(b) && (b[pos] == ' ' || b[pos] == '\t' || b[pos] == '\n' || b[pos] == '\r') {
		pos++
	}
	return pos
}

// find returns the index of the member named key, or -1.
func (o *jsonObject) find(key string) int {
	for i, m := range o.members {
		if m.key == key {
			return i
		}
	}
	return -1
}

// splice returns text with [from, to) replaced by insert.
func splice(text []byte, from, to int, insert string) []byte {
	out := make([]byte, 0, len(text)-(to-from)+len(insert))
	out = append(out, text[:from]...)
	out = append(out, insert...)
	return append(out, text[to:]...)
}

// setValue returns the text with the value of member i replaced.
func (o *jsonObject) setValue(i int, value string) []byte {
	m := o.members[i]
	return splice(o.text, m.valueStart, m.valueEnd, value)
}

// add returns the text with a member appended after the last one. Its separator follows the
// object's layout: on a new line with the first member's indentation when the object is written
// one member per line, else right after the comma. Removing it with remove gives back text.
func (o *jsonObject) add(key, value string) []byte {
	k, _ := json.Marshal(key) // a string always marshals
	colon := ":"
	if len(o.members) > 0 && bytes.Contains(o.text[o.members[0].keyStart:o.members[0].valueStart], []byte(": ")) {
		colon = ": "
	}
	member := string(k) + colon + value
	if len(o.members) == 0 {
		return splice(o.text, o.open+1, o.open+1, member)
	}
	last := o.members[len(o.members)-1].valueEnd
	indent := string(o.text[o.open+1 : o.members[0].keyStart])
	if !bytes.ContainsRune([]byte(indent), '\n') {
		indent = ""
	}
	return splice(o.text, last, last, ","+indent+member)
}

// remove returns the text without member i and the separator that goes with it: the one before
// it when it is not the first, else the one after it. It undoes add exactly.
func (o *jsonObject) remove(i int) []byte {
	m := o.members[i]
	switch {
	case i > 0:
		return splice(o.text, o.members[i-1].valueEnd, m.valueEnd, "")
	case len(o.members) > 1:
		return splice(o.text, m.keyStart, o.members[1].keyStart, "")
	default:
		return splice(o.text, m.keyStart, m.valueEnd, "")
	}
}
