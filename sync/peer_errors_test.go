package sync

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"
)

func TestClassify(t *testing.T) {
	get := func(err error) error {
		return fmt.Errorf("failed to list: %w", &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/api/v1/services", Err: err})
	}
	for _, tc := range []struct {
		err        error
		want       string
		definitive bool
		blip       bool
	}{
		{get(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}),
			"the server's certificate is not signed by the kubeconfig's CA", true, false},
		{get(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "10.0.0.1"}),
			"the server's certificate is not valid for 10.0.0.1: check the kubeconfig's server or tls-server-name", true, false},
		{get(x509.CertificateInvalidError{Reason: x509.Expired}),
			"the server's certificate is invalid (expired or not yet valid?)", true, false},
		{apierrors.NewUnauthorized("Unauthorized"), "credentials rejected (401): token expired or revoked?", true, false},
		{fmt.Errorf("list: %w", apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "", errors.New("no"))),
			"forbidden (403): the identity may not list/watch services: check RBAC", true, false},
		{apierrors.NewInternalError(errors.New("etcd is down")),
			"the API server answered Internal error occurred: etcd is down", false, true},
		{get(&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}),
			"connection refused: is the API server down?", false, false},
		{get(&net.DNSError{Name: "api.east.example", IsNotFound: true}),
			"the API server's name does not resolve: api.east.example", false, true},
		{get(context.DeadlineExceeded), "the API server does not answer in time", false, true},
		{errors.New("something else"), "something else", false, true},
	} {
		got := classify(tc.err)
		if got.msg != tc.want || got.definitive != tc.definitive || got.blip != tc.blip {
			t.Errorf("classify(%v) = %+v, want %q definitive %v blip %v", tc.err, got, tc.want, tc.definitive, tc.blip)
		}
	}
}

// client-go's klog lines go to the zap logger at debug level, and its chatty levels nowhere.
func TestRouteKlog(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	RouteKlog(zap.New(core))
	defer RouteKlog(zap.NewNop())
	klog.Background().WithName("reflector").WithValues("type", "*v1.Service").Info("listing", "resourceVersion", "42")
	klog.Background().Error(errors.New("boom"), "watch failed")
	klog.Background().V(4).Info("trace")
	all := logs.All()
	if len(all) != 2 {
		t.Fatalf("%d lines, want 2: %v", len(all), all)
	}
	first := all[0]
	if first.Level != zap.DebugLevel || !strings.HasSuffix(first.Message, "listing") ||
		first.ContextMap()["type"] != "*v1.Service" || first.ContextMap()["resourceVersion"] != "42" ||
		first.ContextMap()["from"] != "client-go" {
		t.Errorf("info line %+v %v", first.Entry, first.ContextMap())
	}
	if second := all[1]; second.Level != zap.DebugLevel || second.ContextMap()["error"] != "boom" {
		t.Errorf("error line %+v %v", second.Entry, second.ContextMap())
	}

	// Without debug, nothing is even formatted.
	core, logs = observer.New(zap.InfoLevel)
	RouteKlog(zap.New(core))
	klog.Background().Error(errors.New("boom"), "watch failed")
	if logs.Len() != 0 {
		t.Errorf("logged at info: %v", logs.All())
	}
}
