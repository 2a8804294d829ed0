package sync

import (
	"context"

	"k8s.io/client-go/kubernetes"
)

// PeerSetter is what the discovery of remote secrets drives, for the tests of package sync_test
// that watch it alone, against a real API server.
type PeerSetter = peerSetter

// RunSecretDiscovery runs the discovery of remote secrets without a PeerSet: it sets peers
// until ctx is done.
func RunSecretDiscovery(ctx context.Context, local kubernetes.Interface, namespace string, peers PeerSetter, opts PeerOptions) {
	newSecretDiscovery(local, namespace, peers, opts).run(ctx)
}
