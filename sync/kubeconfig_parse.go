package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfigSource is the Source name of kubeconfig files, and the Source of their peers.
const kubeconfigSource = "kubeconfig"

// errNoContexts is the error of a kubeconfig file without a context: it names no peer.
var errNoContexts = errors.New("no contexts: want one per peer cluster")

// kubeconfigPeers reads a kubeconfig file: one peer per context, named after the context in
// lower case, sorted by name. Files it references (a CA, a client certificate) are read now, so
// that their content is part of the peer's Hash. Any context that cannot be used makes the whole
// file an error, which names the file and the context and never quotes credentials.
func kubeconfigPeers(path string) ([]PeerSpec, error) {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	if len(cfg.Contexts) == 0 {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, errNoContexts)
	}
	if err := clientcmdapi.FlattenConfig(cfg); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	var specs []PeerSpec
	for _, context := range slices.Sorted(maps.Keys(cfg.Contexts)) {
		spec, err := contextPeer(cfg, context)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: context %q: %w", path, context, err)
		}
		specs = append(specs, spec)
	}
	slices.SortStableFunc(specs, func(a, b PeerSpec) int { return strings.Compare(a.Name, b.Name) })
	return specs, nil
}

// contextPeer returns the peer of one context of a flattened kubeconfig. Its Hash covers what
// the context uses (cluster, user, their embedded files) and nothing else of the file.
func contextPeer(cfg *clientcmdapi.Config, context string) (PeerSpec, error) {
	one := *cfg // MinifyConfig replaces the maps of one, not those of cfg
	one.CurrentContext = context
	if err := clientcmdapi.MinifyConfig(&one); err != nil {
		return PeerSpec{}, err
	}
	data, err := clientcmd.Write(one)
	if err != nil {
		return PeerSpec{}, err
	}
	rc, err := clientcmd.NewNonInteractiveClientConfig(one, context, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return PeerSpec{}, err
	}
	if _, err := rest.TLSConfigFor(rc); err != nil { // unreadable CA or client certificate
		return PeerSpec{}, err
	}
	sum := sha256.Sum256(data)
	return PeerSpec{
		Name:   strings.ToLower(context),
		Source: kubeconfigSource,
		Config: rc,
		Hash:   hex.EncodeToString(sum[:]),
	}, nil
}
