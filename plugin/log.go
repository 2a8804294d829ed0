package plugin

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	clog "github.com/coredns/coredns/plugin/pkg/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// printer is the part of CoreDNS's plugin logger that the zap core writes through.
type printer interface {
	Debug(v ...any)
	Info(v ...any)
	Warning(v ...any)
	Error(v ...any)
}

// newLogger returns the logger that peerdns hands to its sync and sources. Its lines come out in
// CoreDNS's own format, "[INFO] plugin/peerdns: message key=value ...", through CoreDNS's log
// package; debug lines only appear when the debug plugin is enabled.
func newLogger() *zap.Logger {
	return zap.New(&clogCore{out: clog.NewWithPlugin(pluginName)})
}

// clogCore is a zapcore.Core that renders an entry as its message followed by key=value fields.
type clogCore struct {
	out    printer
	fields string // the rendered fields added with With, each with a leading space
}

// Enabled reports whether lines of level l are printed: always from Info up, Debug only while
// CoreDNS's debug switch is on (it changes at runtime, so it is read each time).
func (c *clogCore) Enabled(l zapcore.Level) bool {
	return l > zapcore.DebugLevel || clog.D.Value()
}

// With returns a core that appends fields to every line.
func (c *clogCore) With(fields []zapcore.Field) zapcore.Core {
	return &clogCore{out: c.out, fields: c.fields + renderFields(fields)}
}

// Check adds the core to ce when the entry's level is enabled.
func (c *clogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

// Write prints one line at the CoreDNS level closest to the entry's.
func (c *clogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	line := e.Message + c.fields + renderFields(fields)
	if e.LoggerName != "" {
		line = e.LoggerName + ": " + line
	}
	switch {
	case e.Level <= zapcore.DebugLevel:
		c.out.Debug(line)
	case e.Level == zapcore.InfoLevel:
		c.out.Info(line)
	case e.Level == zapcore.WarnLevel:
		c.out.Warning(line)
	default:
		c.out.Error(line)
	}
	return nil
}

// Sync has nothing to flush: CoreDNS's log writes each line at once.
func (c *clogCore) Sync() error { return nil }

// renderFields renders fields as " key=value" pairs in the order given. Fields that expand to
// several keys (objects, errors with details) come out sorted by key.
func renderFields(fields []zapcore.Field) string {
	if len(fields) == 0 {
		return ""
	}
	var b strings.Builder
	for _, f := range fields {
		enc := zapcore.NewMapObjectEncoder()
		f.AddTo(enc)
		keys := make([]string, 0, len(enc.Fields))
		for k := range enc.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.WriteByte(' ')
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(quote(renderValue(enc.Fields[k])))
		}
	}
	return b.String()
}

// renderValue turns one encoded field value into text.
func renderValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = renderValue(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		return strings.TrimPrefix(renderMap(v), " ")
	}
	return fmt.Sprint(v)
}

// renderMap renders a nested object as space-separated key=value pairs sorted by key.
func renderMap(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(" " + k + "=" + quote(renderValue(m[k])))
	}
	return b.String()
}

// quote leaves plain values as they are and quotes empty values and values with spaces, quotes,
// equal signs or unprintable characters, so every line splits back into its fields.
func quote(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if r <= ' ' || r == '"' || r == '=' || r == 0x7f || !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
