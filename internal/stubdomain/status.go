package stubdomain

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// StatusParams are status's flags.
type StatusParams struct {
	Targets       []Target
	Service       string // NAMESPACE/NAME of the peerdns server, to check the forward address
	ClusterDomain string // to tell remote namespaces' stub domains apart
}

// Status writes, per target, whether peerdns is installed, its zones, where they forward to,
// whether that is still the Service's ClusterIP, and the remote namespaces. It fails only when
// a ConfigMap cannot be read.
func Status(ctx context.Context, env *Env, p StatusParams) error {
	svcAddr, svcErr := "", error(nil)
	if ns, name, err := ParseServiceRef(p.Service); err != nil {
		svcErr = err
	} else {
		svcAddr, svcErr = ServiceAddress(ctx, env.Client, env.Host, ns, name)
	}
	for _, t := range p.Targets {
		st, exists, err := Read(ctx, t, env.options(false))
		if err != nil {
			return err
		}
		writeStatus(env.Out, t, st, exists, p, svcAddr, svcErr)
	}
	return nil
}

func writeStatus(w io.Writer, t Target, st State, exists bool, p StatusParams, svcAddr string, svcErr error) {
	name, _ := t.configMap()
	switch {
	case !exists:
		fmt.Fprintf(w, "%s (%s): not installed (ConfigMap %s/%s does not exist)\n", t, t.Ref(), Namespace, name)
		return
	case !st.Installed:
		fmt.Fprintf(w, "%s (%s): not installed\n", t, t.Ref())
		return
	}
	var zones, remote []string
	for _, z := range st.Zones {
		if ns, ok := remoteNamespace(z, p.ClusterDomain); ok {
			remote = append(remote, ns)
		} else {
			zones = append(zones, z)
		}
	}
	fmt.Fprintf(w, "%s (%s): installed\n", t, t.Ref())
	fmt.Fprintf(w, "  zones:             %s\n", orNone(zones))
	fmt.Fprintf(w, "  remote namespaces: %s\n", orNone(remote))
	fmt.Fprintf(w, "  forwards to:       %s\n", orNone([]string{st.Server}))
	fmt.Fprintf(w, "  service %s: %s\n", p.Service, serviceMatch(st.Server, svcAddr, svcErr))
	if st.Reconciled {
		fmt.Fprintf(w, "  WARNING: %s\n", revertNote(t))
	}
}

// serviceMatch says whether the forward address is still the Service's.
func serviceMatch(server, svcAddr string, svcErr error) string {
	switch {
	case svcErr != nil:
		return "cannot tell whether the forward address is current: " + svcErr.Error()
	case server == svcAddr:
		return svcAddr + ", matches"
	default:
		return svcAddr + ", DOES NOT MATCH the forward address; run peerdnsctl install again"
	}
}

// remoteNamespace returns the namespace of a remote namespace's stub domain.
func remoteNamespace(zone, clusterDomain string) (string, bool) {
	if !isRemoteZone(zone, clusterDomain) {
		return "", false
	}
	ns, _, _ := strings.Cut(zone, ".")
	return ns, true
}

func orNone(items []string) string {
	if len(items) == 0 || len(items) == 1 && items[0] == "" {
		return "(none)"
	}
	return strings.Join(items, ", ")
}
