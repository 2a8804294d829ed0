package plugin

import (
	"bytes"
	"errors"
	golog "log"
	"strings"
	"testing"
	"time"

	clog "github.com/coredns/coredns/plugin/pkg/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// captureLog sends CoreDNS's log output to a buffer for the rest of the test.
func captureLog(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	flags := golog.Flags()
	golog.SetOutput(&buf)
	golog.SetFlags(0)
	t.Cleanup(func() {
		golog.SetOutput(defaultLogOutput)
		golog.SetFlags(flags)
		clog.D.Clear()
	})
	return &buf
}

var defaultLogOutput = golog.Writer()

func TestLoggerFormat(t *testing.T) {
	cases := []struct {
		level  zapcore.Level
		msg    string
		fields []zap.Field
		want   string
	}{
		{zap.InfoLevel, "peer live", []zap.Field{zap.String("peer", "east"), zap.Float64("took_seconds", 0.41)},
			"[INFO] plugin/peerdns: peer live peer=east took_seconds=0.41\n"},
		{zap.WarnLevel, "reload failed", []zap.Field{zap.Error(errors.New("peers.yaml:3: unknown key colour"))},
			`[WARNING] plugin/peerdns: reload failed error="peers.yaml:3: unknown key colour"` + "\n"},
		{zap.ErrorLevel, "no peers", []zap.Field{zap.Int("count", 0), zap.Bool("ready", false)},
			"[ERROR] plugin/peerdns: no peers count=0 ready=false\n"},
		{zap.InfoLevel, "loaded", []zap.Field{zap.Duration("took", 1500*time.Millisecond)},
			"[INFO] plugin/peerdns: loaded took=1.5s\n"},
		{zap.InfoLevel, "quoted", []zap.Field{zap.String("empty", ""), zap.String("eq", "a=b")},
			`[INFO] plugin/peerdns: quoted empty="" eq="a=b"` + "\n"},
		{zap.InfoLevel, "list", []zap.Field{zap.Strings("peers", []string{"east", "west"})},
			"[INFO] plugin/peerdns: list peers=east,west\n"},
		{zap.InfoLevel, "no fields", nil, "[INFO] plugin/peerdns: no fields\n"},
	}
	for _, tc := range cases {
		buf := captureLog(t)
		newLogger().Log(tc.level, tc.msg, tc.fields...)
		if buf.String() != tc.want {
			t.Errorf("got  %q\nwant %q", buf.String(), tc.want)
		}
	}
}

func TestLoggerWithAndNamed(t *testing.T) {
	buf := captureLog(t)
	newLogger().Named("static").With(zap.String("source", "static")).Info("loaded", zap.Int("clusters", 3))
	want := "[INFO] plugin/peerdns: static: loaded source=static clusters=3\n"
	if buf.String() != want {
		t.Errorf("got  %q\nwant %q", buf.String(), want)
	}
}

func TestLoggerDebug(t *testing.T) {
	buf := captureLog(t)
	l := newLogger()
	l.Debug("map published", zap.Uint64("generation", 2))
	if buf.Len() != 0 {
		t.Errorf("debug line printed without the debug plugin: %q", buf.String())
	}
	if l.Core().Enabled(zap.DebugLevel) {
		t.Error("debug enabled without the debug plugin: fields would be rendered for nothing")
	}

	clog.D.Set()
	l.Debug("map published", zap.Uint64("generation", 2))
	want := "[DEBUG] plugin/peerdns: map published generation=2\n"
	if buf.String() != want {
		t.Errorf("got  %q\nwant %q", buf.String(), want)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"east": "east", "": `""`, "a b": `"a b"`, `say "hi"`: `"say \"hi\""`, "tab\t": `"tab\t"`, "é": "é",
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestLoggerFieldsAreSplittable(t *testing.T) {
	buf := captureLog(t)
	newLogger().Info("x", zap.String("reason", "dial tcp 10.0.0.1:443: i/o timeout"))
	if !strings.HasSuffix(buf.String(), ` reason="dial tcp 10.0.0.1:443: i/o timeout"`+"\n") {
		t.Errorf("value with spaces not quoted: %q", buf.String())
	}
}
