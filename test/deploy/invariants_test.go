package deploy

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The server's ports: DNS in the container, DNS of the Service, and the plugins' HTTP ports.
const (
	dnsPort     = 1053
	servicePort = 53
	healthPort  = 8080
	readyPort   = 8181
	metricsPort = 9153
)

// TestManifestKinds: the plain manifests hold exactly the objects a peerdns install needs.
func TestManifestKinds(t *testing.T) {
	var got []string
	for _, d := range readDocuments(t, manifestsFile) {
		got = append(got, d.String())
	}
	want := []string{
		"Namespace peerdns",
		"ServiceAccount peerdns/peerdns",
		"ClusterRole peerdns",
		"ClusterRoleBinding peerdns",
		"Role istio-system/peerdns-remote-secrets",
		"RoleBinding istio-system/peerdns-remote-secrets",
		"ConfigMap peerdns/peerdns",
		"Deployment peerdns/peerdns",
		"PodDisruptionBudget peerdns/peerdns",
		"Service peerdns/peerdns",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("objects of %s:\n%q\nwant\n%q", manifestsFile, got, want)
	}
}

// TestRBACIsDeployRBAC: the manifests grant peerdns exactly what deploy/rbac.yaml grants, the
// least privilege the multi-cluster tests run with: the same rules, roles and subjects.
func TestRBACIsDeployRBAC(t *testing.T) {
	got, want := typed(t, readDocuments(t, manifestsFile)), typed(t, readDocuments(t, rbacFile))
	type grant struct {
		Name, Namespace string
		Rules           []rbacv1.PolicyRule
		RoleRef         rbacv1.RoleRef
		Subjects        []rbacv1.Subject
	}
	grants := func(o *objects) []grant {
		var g []grant
		for _, r := range o.clusterRoles {
			g = append(g, grant{Name: r.Name, Rules: r.Rules})
		}
		for _, r := range o.roles {
			g = append(g, grant{Name: r.Name, Namespace: r.Namespace, Rules: r.Rules})
		}
		for _, b := range o.clusterRoleBindings {
			g = append(g, grant{Name: b.Name, RoleRef: b.RoleRef, Subjects: b.Subjects})
		}
		for _, b := range o.roleBindings {
			g = append(g, grant{Name: b.Name, Namespace: b.Namespace, RoleRef: b.RoleRef, Subjects: b.Subjects})
		}
		return g
	}
	if g, w := grants(got), grants(want); !reflect.DeepEqual(g, w) {
		t.Errorf("RBAC of %s:\n%+v\nof %s:\n%+v", manifestsFile, g, rbacFile, w)
	}
	if len(got.roles) != 1 || len(got.clusterRoles) != 1 {
		t.Errorf("%d ClusterRoles and %d Roles, want one of each", len(got.clusterRoles), len(got.roles))
	}
}

// TestLeastPrivilegeRules: every grant, in the plain manifests and in the custom render, lists
// and watches and does nothing else: Services, Namespaces and Istio ServiceEntries cluster-wide,
// Secrets only through a Role in the remote secrets' namespace; the bindings name the account
// the Deployment runs as.
func TestLeastPrivilegeRules(t *testing.T) {
	for name, c := range map[string]struct {
		docs      []document
		secretsNS string
	}{
		manifestsFile:          {readDocuments(t, manifestsFile), "istio-system"},
		"chart, custom values": {renderCustom(t), "mesh-secrets"},
	} {
		t.Run(name, func(t *testing.T) {
			o := typed(t, c.docs)
			cr := one(t, "ClusterRoles", o.clusterRoles)
			checkRules(t, "ClusterRole "+cr.Name, cr.Rules,
				rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"services", "namespaces"}},
				rbacv1.PolicyRule{APIGroups: []string{"networking.istio.io"}, Resources: []string{"serviceentries"}})
			role := one(t, "Roles", o.roles)
			if role.Namespace != c.secretsNS {
				t.Errorf("Role %s in namespace %q, want %q", role.Name, role.Namespace, c.secretsNS)
			}
			checkRules(t, "Role "+role.Name, role.Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}})

			d := one(t, "Deployments", o.deployments)
			sa := rbacv1.Subject{Kind: "ServiceAccount", Name: d.Spec.Template.Spec.ServiceAccountName, Namespace: d.Namespace}
			if got := one(t, "ServiceAccounts", o.serviceAccounts); got.Name != sa.Name || got.Namespace != sa.Namespace {
				t.Errorf("ServiceAccount %s/%s, the Deployment runs as %s/%s", got.Namespace, got.Name, sa.Namespace, sa.Name)
			}
			crb, rb := one(t, "ClusterRoleBindings", o.clusterRoleBindings), one(t, "RoleBindings", o.roleBindings)
			checkBinding(t, crb.Name, crb.RoleRef, crb.Subjects, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cr.Name}, sa)
			checkBinding(t, rb.Name, rb.RoleRef, rb.Subjects, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}, sa)
			if rb.Namespace != role.Namespace {
				t.Errorf("RoleBinding in %q, its Role in %q", rb.Namespace, role.Namespace)
			}
		})
	}
}

// checkRules: exactly these groups and resources, and for each of them the verbs list and
// watch, no more.
func checkRules(t *testing.T, what string, rules []rbacv1.PolicyRule, want ...rbacv1.PolicyRule) {
	t.Helper()
	for i := range want {
		want[i].Verbs = []string{"list", "watch"}
	}
	if !reflect.DeepEqual(rules, want) {
		t.Errorf("%s rules %+v, want %+v", what, rules, want)
	}
}

func checkBinding(t *testing.T, name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject, wantRef rbacv1.RoleRef, sa rbacv1.Subject) {
	t.Helper()
	if ref != wantRef {
		t.Errorf("binding %s refers to %+v, want %+v", name, ref, wantRef)
	}
	if !reflect.DeepEqual(subjects, []rbacv1.Subject{sa}) {
		t.Errorf("binding %s subjects %+v, want only %+v", name, subjects, sa)
	}
}

// TestSecurityInvariants: the server runs as a non-root user with a read-only root
// filesystem, no capabilities and no privilege escalation, under the runtime's seccomp profile;
// its probes ask health and ready where the Corefile serves them; two replicas on different
// nodes with a disruption budget; the Service takes DNS on port 53, UDP and TCP.
func TestSecurityInvariants(t *testing.T) {
	for name, c := range map[string]struct {
		docs               []document
		replicas, minAvail int32
		memRequest         string
	}{
		manifestsFile:          {readDocuments(t, manifestsFile), 2, 1, "128Mi"},
		"chart, custom values": {renderCustom(t), 3, 2, "256Mi"},
	} {
		t.Run(name, func(t *testing.T) {
			o := typed(t, c.docs)
			d := one(t, "Deployments", o.deployments)
			if d.Spec.Replicas == nil || *d.Spec.Replicas != c.replicas {
				t.Errorf("replicas %v, want %d", d.Spec.Replicas, c.replicas)
			}
			checkPodSecurity(t, d.Spec.Template.Spec)
			srv := o.server(t)
			checkContainerSecurity(t, srv)
			checkProbes(t, srv)
			checkResources(t, srv, c.memRequest)
			checkSpread(t, d)
			pdb := one(t, "PodDisruptionBudgets", o.budgets)
			if pdb.Spec.MinAvailable == nil || *pdb.Spec.MinAvailable != intstr.FromInt32(c.minAvail) {
				t.Errorf("PodDisruptionBudget minAvailable %v, want %d", pdb.Spec.MinAvailable, c.minAvail)
			}
			if pdb.Spec.Selector == nil || !reflect.DeepEqual(pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
				t.Errorf("PodDisruptionBudget selects %v, the Deployment %v", pdb.Spec.Selector, d.Spec.Selector)
			}
			checkService(t, one(t, "Services", o.services), d, srv)
		})
	}
}

func checkPodSecurity(t *testing.T, spec corev1.PodSpec) {
	t.Helper()
	sc := spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("pod: runAsNonRoot is not set")
	}
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Error("pod: runAsUser is not a non-root user")
	}
	if sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod: seccompProfile is not RuntimeDefault")
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		t.Error("pod shares a host namespace")
	}
}

func checkContainerSecurity(t *testing.T, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("container: no securityContext")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("container: root filesystem is not read-only")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("container: privilege escalation is not disallowed")
	case sc.Privileged != nil && *sc.Privileged:
		t.Error("container: privileged")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("container: capabilities %+v, want drop ALL and add none", sc.Capabilities)
	}
}

func checkProbes(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, p := range []struct {
		what  string
		probe *corev1.Probe
		path  string
		port  int32
	}{
		{"liveness", c.LivenessProbe, "/health", healthPort},
		{"readiness", c.ReadinessProbe, "/ready", readyPort},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe: not an HTTP GET", p.what)
			continue
		}
		get := p.probe.HTTPGet
		if port := containerPort(c, get.Port, corev1.ProtocolTCP); get.Path != p.path || port != p.port {
			t.Errorf("%s probe: GET %s on port %d, want %s on %d", p.what, get.Path, port, p.path, p.port)
		}
	}
}

// containerPort resolves a port of c, by number or by name.
func containerPort(c corev1.Container, port intstr.IntOrString, proto corev1.Protocol) int32 {
	if port.Type == intstr.Int {
		return port.IntVal
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal && p.Protocol == proto {
			return p.ContainerPort
		}
	}
	return 0
}

func checkResources(t *testing.T, c corev1.Container, memRequest string) {
	t.Helper()
	req, limit := c.Resources.Requests.Memory(), c.Resources.Limits.Memory()
	if want := resource.MustParse(memRequest); req.Cmp(want) != 0 {
		t.Errorf("memory request %v, want %v", req, memRequest)
	}
	if limit.IsZero() || limit.Cmp(*req) < 0 {
		t.Errorf("memory limit %v, want one of at least the request %v", limit, req)
	}
	if !c.Resources.Limits.Cpu().IsZero() {
		t.Errorf("CPU limit %v: DNS should never be throttled", c.Resources.Limits.Cpu())
	}
	i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GOMEMLIMIT" })
	if i < 0 || c.Env[i].ValueFrom == nil || c.Env[i].ValueFrom.ResourceFieldRef == nil ||
		c.Env[i].ValueFrom.ResourceFieldRef.Resource != "limits.memory" {
		t.Error("GOMEMLIMIT is not set from limits.memory")
	}
}

// checkSpread: two replicas never share a node by choice (podAntiAffinity on the hostname)
// and spread across zones.
func checkSpread(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	spec := d.Spec.Template.Spec
	aa := spec.Affinity
	if aa == nil || aa.PodAntiAffinity == nil {
		t.Fatal("no podAntiAffinity")
	}
	var terms []corev1.PodAffinityTerm
	for _, w := range aa.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		terms = append(terms, w.PodAffinityTerm)
	}
	terms = append(terms, aa.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
	if !slices.ContainsFunc(terms, func(term corev1.PodAffinityTerm) bool {
		return term.TopologyKey == "kubernetes.io/hostname" && term.LabelSelector != nil &&
			subset(term.LabelSelector.MatchLabels, d.Spec.Template.Labels)
	}) {
		t.Errorf("podAntiAffinity %+v keeps no two replicas apart by node", aa.PodAntiAffinity)
	}
	if !slices.ContainsFunc(spec.TopologySpreadConstraints, func(c corev1.TopologySpreadConstraint) bool {
		return c.TopologyKey == "topology.kubernetes.io/zone" && c.LabelSelector != nil &&
			subset(c.LabelSelector.MatchLabels, d.Spec.Template.Labels)
	}) {
		t.Errorf("topologySpreadConstraints %+v do not spread the replicas across zones", spec.TopologySpreadConstraints)
	}
}

// subset reports whether every label of sel is in labels.
func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

// checkService: DNS on port 53 over UDP and TCP reaches the server's 1053, and metrics 9153.
func checkService(t *testing.T, svc *corev1.Service, d *appsv1.Deployment, c corev1.Container) {
	t.Helper()
	if svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("Service type %q, want ClusterIP", svc.Spec.Type)
	}
	if !subset(svc.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("Service selects %v; pods are labelled %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
	var got []string
	for _, p := range svc.Spec.Ports {
		got = append(got, strings.Join([]string{
			string(p.Protocol), itoa(p.Port), itoa(containerPort(c, p.TargetPort, p.Protocol)),
		}, " "))
	}
	want := []string{
		"UDP " + itoa(servicePort) + " " + itoa(dnsPort),
		"TCP " + itoa(servicePort) + " " + itoa(dnsPort),
		"TCP " + itoa(metricsPort) + " " + itoa(metricsPort),
	}
	if !slices.Equal(got, want) {
		t.Errorf("Service ports (protocol, port, container port) %q, want %q", got, want)
	}
}

func itoa[T ~int32 | ~int64 | ~int](n T) string { return strconv.Itoa(int(n)) }
