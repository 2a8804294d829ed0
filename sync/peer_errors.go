package sync

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// peerCause is why a peer cannot be listed, in words an operator can act on.
type peerCause struct {
	msg string
	// definitive causes (the CA, the credentials, RBAC, the configuration) will not go away by
	// retrying: a live peer that meets one goes stale at once, and a peer that never listed
	// counts as settled for readiness.
	definitive bool
	// blip causes (a timeout, a reset connection, an error answer) may be one: a live peer
	// checks again at once before it goes stale. A refused connection is not one: nothing
	// listens.
	blip bool
}

// classify explains an error of a peer's list, watch or heartbeat. It never quotes credentials:
// client-go's errors carry the URL and the cause, not the headers.
func classify(err error) peerCause {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var tlsVerify *tls.CertificateVerificationError
	var dnsErr *net.DNSError
	var status apierrors.APIStatus
	switch {
	case errors.As(err, &unknownCA):
		return peerCause{"the server's certificate is not signed by the kubeconfig's CA", true, false}
	case errors.As(err, &hostname):
		return peerCause{"the server's certificate is not valid for " + hostname.Host + ": check the kubeconfig's server or tls-server-name", true, false}
	case errors.As(err, &invalid):
		return peerCause{"the server's certificate is invalid (expired or not yet valid?)", true, false}
	case errors.As(err, &tlsVerify):
		return peerCause{"the server's certificate does not verify: " + tlsVerify.Err.Error(), true, false}
	case apierrors.IsUnauthorized(err):
		return peerCause{"credentials rejected (401): token expired or revoked?", true, false}
	case apierrors.IsForbidden(err):
		return peerCause{"forbidden (403): the identity may not list/watch services: check RBAC", true, false}
	case errors.As(err, &status):
		return peerCause{"the API server answered " + status.Status().Message, false, true}
	case errors.Is(err, syscall.ECONNREFUSED):
		return peerCause{"connection refused: is the API server down?", false, false}
	case errors.As(err, &dnsErr):
		return peerCause{"the API server's name does not resolve: " + dnsErr.Name, false, true}
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return peerCause{"the API server does not answer in time", false, true}
	}
	return peerCause{err.Error(), false, true}
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
