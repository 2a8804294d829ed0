package sync

import (
	"fmt"

	"github.com/go-logr/logr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
)

// klogMaxV is the most verbose klog level passed on: client-go's levels above it trace requests.
const klogMaxV = 2

// RouteKlog sends what client-go logs through klog to log, at debug level only (shown with the
// debug plugin): what matters of it (a peer that cannot list, a watch that fails) is already
// logged once per cause by the peers, and client-go repeats its lines at every retry. Without
// it, client-go writes its own lines to stderr, outside CoreDNS's format.
//
// Call it once at startup, before any client runs: klog has one global logger, the last call
// wins.
func RouteKlog(log *zap.Logger) {
	if log == nil {
		log = zap.NewNop()
	}
	klog.SetLogger(logr.New(&klogSink{log: log.With(zap.String("from", "client-go"))}))
}

// klogSink is a logr.LogSink over zap.
type klogSink struct {
	log  *zap.Logger
	name string
}

func (s *klogSink) Init(logr.RuntimeInfo) {}

func (s *klogSink) Enabled(level int) bool {
	return level <= klogMaxV && s.log.Core().Enabled(zapcore.DebugLevel)
}

func (s *klogSink) Info(_ int, msg string, kv ...any) {
	s.log.Debug(s.prefix(msg), klogFields(kv)...)
}

func (s *klogSink) Error(err error, msg string, kv ...any) {
	s.log.Debug(s.prefix(msg), append(klogFields(kv), zap.Error(err))...)
}

func (s *klogSink) WithValues(kv ...any) logr.LogSink {
	return &klogSink{log: s.log.With(klogFields(kv)...), name: s.name}
}

func (s *klogSink) WithName(name string) logr.LogSink {
	if s.name != "" {
		name = s.name + "/" + name
	}
	return &klogSink{log: s.log, name: name}
}

func (s *klogSink) prefix(msg string) string {
	if s.name == "" {
		return msg
	}
	return s.name + ": " + msg
}

// klogFields turns logr's key/value pairs into zap fields; a key without a value gets none.
func klogFields(kv []any) []zap.Field {
	fields := make([]zap.Field, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		key, ok := kv[i].(string)
		if !ok {
			key = fmt.Sprint(kv[i])
		}
		fields = append(fields, zap.Any(key, kv[i+1]))
	}
	return fields
}
