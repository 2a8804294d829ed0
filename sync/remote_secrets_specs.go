package sync

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// errRefusedInSecret means a kubeconfig from a remote secret asks for something that only the
// operator's own kubeconfig files may: running a program or reading a local file.
var errRefusedInSecret = errors.New("refused in a remote secret: credentials must be embedded")

// secretEntry is what one data key of a remote secret parsed to.
type secretEntry struct {
	hash string       // hex SHA-256 of the value
	cfg  *rest.Config // nil when err is set
	err  error
}

// specs turns the secrets into one peer spec per cluster name, sorted by name, and logs what it
// skips: entries that cannot be used (once per content) and names claimed twice (once per
// change). It reorders secrets, but modifies none.
func (d *secretDiscovery) specs(secrets []*corev1.Secret) []PeerSpec {
	slices.SortFunc(secrets, olderFirst)
	entries := make(map[string]secretEntry)
	owners := make(map[string]string) // cluster name → the secret it was taken from
	var specs []PeerSpec
	var conflicts []string
	for _, s := range secrets {
		if s.Labels[RemoteSecretLabel] != "true" {
			continue
		}
		for _, key := range slices.Sorted(maps.Keys(s.Data)) {
			id := s.Name + "/" + key
			e := d.entry(id, s.Data[key])
			entries[id] = e
			if e.err != nil {
				continue
			}
			name := strings.ToLower(key)
			if owner, ok := owners[name]; ok {
				conflicts = append(conflicts, fmt.Sprintf("%s: secret %s kept, %s ignored", name, owner, s.Name))
				continue
			}
			owners[name] = s.Name
			specs = append(specs, PeerSpec{
				Name: name, Source: secretSourceName, Config: rest.CopyConfig(e.cfg), Hash: e.hash,
			})
		}
	}
	d.entries = entries
	d.logConflicts(conflicts)
	slices.SortFunc(specs, func(a, b PeerSpec) int { return strings.Compare(a.Name, b.Name) })
	return specs
}

// entry returns what the value of the entry id ("secret/key") parses to: the last result when
// the value is unchanged, else a new one, logged when the entry cannot be used.
func (d *secretDiscovery) entry(id string, value []byte) secretEntry {
	sum := sha256.Sum256(value)
	hash := hex.EncodeToString(sum[:])
	if e, ok := d.entries[id]; ok && e.hash == hash {
		return e
	}
	secret, key, _ := strings.Cut(id, "/")
	e := secretEntry{hash: hash}
	e.cfg, e.err = remoteSecretConfig(key, value)
	if e.err != nil {
		d.log.Warn("remote secret entry skipped",
			zap.String("secret", d.namespace+"/"+secret), zap.String("key", key), zap.Error(e.err))
		if d.onError != nil {
			d.onError(fmt.Errorf("remote secret %s/%s key %q: %w", d.namespace, secret, key, e.err))
		}
	}
	return e
}

// logConflicts warns about cluster names claimed by more than one secret, when they changed.
func (d *secretDiscovery) logConflicts(conflicts []string) {
	joined := strings.Join(conflicts, "; ")
	if joined == d.dups {
		return
	}
	d.dups = joined
	if joined != "" {
		d.log.Warn("cluster named by more than one remote secret, the oldest secret kept",
			zap.Strings("conflicts", conflicts))
	}
}

// olderFirst orders secrets by creation time, then by name.
func olderFirst(a, b *corev1.Secret) int {
	if c := a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time); c != 0 {
		return c
	}
	return cmp.Compare(a.Name, b.Name)
}

// remoteSecretConfig turns the value of a remote secret's key into the configuration of the
// peer the key names. The errors never quote the value.
func remoteSecretConfig(key string, value []byte) (*rest.Config, error) {
	if !isLabel(strings.ToLower(key)) {
		return nil, fmt.Errorf("cluster name %q is not %s", key, labelRule)
	}
	file, err := clientcmd.Load(value)
	if err != nil {
		return nil, fmt.Errorf("not a kubeconfig: %w", err)
	}
	context, err := remoteContext(file)
	if err != nil {
		return nil, err
	}
	if err := checkEmbedded(file, context); err != nil {
		return nil, fmt.Errorf("context %q: %w", context, err)
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*file, context, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("context %q: %w", context, err)
	}
	if _, err := rest.TLSConfigFor(cfg); err != nil { // an unreadable CA or client certificate
		return nil, fmt.Errorf("context %q: %w", context, err)
	}
	cfg.UserAgent = userAgent
	return cfg, nil
}

// remoteContext returns the context to use: the current one, or the only one.
func remoteContext(file *clientcmdapi.Config) (string, error) {
	switch {
	case file.CurrentContext != "":
		if file.Contexts[file.CurrentContext] == nil {
			return "", fmt.Errorf("current-context %q is not among the contexts", file.CurrentContext)
		}
		return file.CurrentContext, nil
	case len(file.Contexts) == 1:
		for name := range file.Contexts {
			return name, nil
		}
	}
	return "", fmt.Errorf("no current-context set, and %d contexts to choose from", len(file.Contexts))
}

// checkEmbedded refuses a context whose user runs a program or whose credentials are files.
func checkEmbedded(file *clientcmdapi.Config, context string) error {
	c := file.Contexts[context]
	if u := file.AuthInfos[c.AuthInfo]; u != nil {
		switch {
		case u.Exec != nil:
			return fmt.Errorf("user %q: exec credential plugin %w", c.AuthInfo, errRefusedInSecret)
		case u.AuthProvider != nil:
			return fmt.Errorf("user %q: auth-provider %w", c.AuthInfo, errRefusedInSecret)
		case u.TokenFile != "":
			return fmt.Errorf("user %q: tokenFile %w", c.AuthInfo, errRefusedInSecret)
		case u.ClientCertificate != "" || u.ClientKey != "":
			return fmt.Errorf("user %q: client certificate or key file %w", c.AuthInfo, errRefusedInSecret)
		}
	}
	if cl := file.Clusters[c.Cluster]; cl != nil && cl.CertificateAuthority != "" {
		return fmt.Errorf("cluster %q: certificate-authority file %w", c.Cluster, errRefusedInSecret)
	}
	return nil
}
