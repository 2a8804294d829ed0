package sync

import (
	"context"
	"net/netip"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/peerdns/peerdns/resolver"
)

// fakeEntryDiscovery serves the ServiceEntry resource in the versions the test sets.
type fakeEntryDiscovery struct {
	*fakediscovery.FakeDiscovery
	mu        gosync.Mutex
	versions  []string // served; nil: the resource is not served
	preferred string   // the group's preferred version; "": the first
}

func newFakeEntryDiscovery() *fakeEntryDiscovery {
	return &fakeEntryDiscovery{FakeDiscovery: &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{}}}
}

func (f *fakeEntryDiscovery) serve(preferred string, versions ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.versions, f.preferred = versions, preferred
}

func (f *fakeEntryDiscovery) ServerGroups() (*metav1.APIGroupList, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := &metav1.APIGroupList{Groups: []metav1.APIGroup{{Name: "", Versions: []metav1.GroupVersionForDiscovery{{GroupVersion: "v1", Version: "v1"}}}}}
	if len(f.versions) == 0 {
		return list, nil
	}
	g := metav1.APIGroup{Name: serviceEntryGroup}
	for _, v := range f.versions {
		g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: serviceEntryGroup + "/" + v, Version: v})
	}
	g.PreferredVersion = g.Versions[0]
	if f.preferred != "" {
		g.PreferredVersion = metav1.GroupVersionForDiscovery{GroupVersion: serviceEntryGroup + "/" + f.preferred, Version: f.preferred}
	}
	list.Groups = append(list.Groups, g)
	return list, nil
}

func (f *fakeEntryDiscovery) ServerResourcesForGroupVersion(gv string) (*metav1.APIResourceList, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := &metav1.APIResourceList{GroupVersion: gv}
	for _, v := range f.versions {
		if gv == serviceEntryGroup+"/"+v {
			list.APIResources = []metav1.APIResource{{Name: "virtualservices"}, {Name: serviceEntryResource, Namespaced: true}}
		}
	}
	return list, nil
}

func entryGVR(version string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: serviceEntryGroup, Version: version, Resource: serviceEntryResource}
}

// newFakeEntryClient is a dynamic client that knows the ServiceEntry lists of every version.
func newFakeEntryClient(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	kinds := map[schema.GroupVersionResource]string{}
	for _, v := range serviceEntryVersions {
		kinds[entryGVR(v)] = "ServiceEntryList"
	}
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), kinds, objs...)
}

// entryOf builds a ServiceEntry of version v from a YAML spec.
func entryOf(t *testing.T, v, ns, name, spec string) *unstructured.Unstructured {
	t.Helper()
	u := entryObject(t, "spec: "+spec)
	u.SetAPIVersion(serviceEntryGroup + "/" + v)
	u.SetKind("ServiceEntry")
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// runEntries runs a ServiceEntries source until the test ends and counts its changed calls.
func runEntries(t *testing.T, s *ServiceEntries) *counter {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	n := &counter{}
	go func() {
		defer close(done)
		s.Run(ctx, n.inc)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return n
}

type counter struct {
	mu gosync.Mutex
	n  int
}

func (c *counter) inc() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// waitEntries waits until the source is ready and cond holds for its clusters.
func waitEntries(t *testing.T, s *ServiceEntries, what string, cond func([]resolver.Cluster) bool) []resolver.Cluster {
	t.Helper()
	var got []resolver.Cluster
	waitFor(t, what, func() bool {
		cs, ready := s.Clusters()
		got = cs
		return ready && cond(cs)
	})
	return got
}

func clusterNamed(cs []resolver.Cluster, name string) (resolver.Cluster, bool) {
	i := slices.IndexFunc(cs, func(c resolver.Cluster) bool { return c.Name == name })
	if i < 0 {
		return resolver.Cluster{}, false
	}
	return cs[i], true
}

func entryGatewayIs(name string, want ...string) func([]resolver.Cluster) bool {
	return func(cs []resolver.Cluster) bool {
		c, ok := clusterNamed(cs, name)
		return ok && slices.Equal(c.Gateway.Addresses, addrs(want...))
	}
}

// Entries come, change and go; the clusters follow, named after the entries.
func TestServiceEntriesFollow(t *testing.T) {
	disc := newFakeEntryDiscovery()
	disc.serve("", "v1", "v1beta1", "v1alpha3")
	client := newFakeEntryClient(
		entryOf(t, "v1", "foo", "httpbin-bar", `{hosts: [httpbin.bar.global], addresses: [240.0.0.2], ports: [{name: http1, number: 8000, protocol: http}], endpoints: [{address: 203.0.113.7, ports: {http1: 15443}}]}`),
		entryOf(t, "v1", "foo", "elsewhere", `{hosts: [web.shop.svc.cluster.local], addresses: [240.0.0.9]}`),
	)
	s := NewServiceEntries(client, disc, ServiceEntriesOptions{})
	changes := runEntries(t, s)
	cs := waitEntries(t, s, "httpbin listed", entryGatewayIs("foo-httpbin-bar", "240.0.0.2"))
	want := resolver.Cluster{
		Name: "foo-httpbin-bar", Source: "serviceentries", State: resolver.Live, Updated: cs[0].Updated,
		Gateway:  resolver.Gateway{Addresses: addrs("240.0.0.2")},
		Services: []resolver.Service{{Name: "httpbin", Namespace: "bar", Ports: http1}},
	}
	if len(cs) != 1 || !sameEntryCluster(cs[0], want) || cs[0].State != resolver.Live || cs[0].Source != want.Source {
		t.Fatalf("clusters %+v, want only %+v", cs, want)
	}
	if cs[0].Updated.IsZero() {
		t.Error("Updated is zero: TXT answers would show no age")
	}
	if changes.get() != 1 {
		t.Errorf("changed called %d times for the first list, want 1", changes.get())
	}

	gvr := entryGVR("v1")
	ctx := context.Background()
	moved := entryOf(t, "v1", "foo", "httpbin-bar", `{hosts: [httpbin.bar.global], addresses: [240.0.0.3]}`)
	if _, err := client.Resource(gvr).Namespace("foo").Update(ctx, moved, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEntries(t, s, "the new address", entryGatewayIs("foo-httpbin-bar", "240.0.0.3"))
	if _, ok := s.TakeChanges(); !ok {
		t.Error("TakeChanges after an update: none")
	}
	if err := client.Resource(gvr).Namespace("foo").Delete(ctx, "httpbin-bar", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEntries(t, s, "no clusters", func(cs []resolver.Cluster) bool { return len(cs) == 0 })
}

// Without the resource, the source is ready at once with nothing, and picks the resource up
// when it is served; the version the API server prefers is the one read.
func TestServiceEntriesCRDLater(t *testing.T) {
	disc := newFakeEntryDiscovery()
	client := newFakeEntryClient(entryOf(t, "v1alpha3", "foo", "web", `{hosts: [web.shop.global], addresses: [240.0.0.5]}`))
	core, logs := observer.New(zap.InfoLevel)
	s := NewServiceEntries(client, disc, ServiceEntriesOptions{Discover: 20 * time.Millisecond, Log: zap.New(core)})
	runEntries(t, s)
	waitEntries(t, s, "ready with nothing", func(cs []resolver.Cluster) bool { return len(cs) == 0 })
	if n := logs.FilterMessage("ServiceEntry CRD not installed: no service entries served until it is").Len(); n != 1 {
		t.Errorf("%d warnings that the CRD is missing, want 1", n)
	}
	disc.serve("v1alpha3", "v1alpha3", "v1beta1")
	waitEntries(t, s, "web from v1alpha3", entryGatewayIs("foo-web", "240.0.0.5"))
	if n := logs.FilterMessage("ServiceEntry resource served now, watching it").Len(); n != 1 {
		t.Errorf("%d lines that the resource is served now, want 1", n)
	}
}

func TestServedVersion(t *testing.T) {
	cases := []struct {
		preferred string
		served    []string
		want      string // "": not served
	}{
		{"", nil, ""},
		{"", []string{"v1", "v1beta1", "v1alpha3"}, "v1"},
		{"v1beta1", []string{"v1", "v1beta1"}, "v1beta1"},
		{"", []string{"v1alpha3"}, "v1alpha3"},
		{"v2", []string{"v2", "v1alpha3", "v1beta1"}, "v1beta1"}, // a version peerdns cannot read is passed over
		{"", []string{"v2"}, ""},
	}
	for _, tc := range cases {
		disc := newFakeEntryDiscovery()
		disc.serve(tc.preferred, tc.served...)
		s := NewServiceEntries(newFakeEntryClient(), disc, ServiceEntriesOptions{})
		gvr, err := s.servedVersion()
		if (err == nil) != (tc.want != "") || (err == nil && gvr != entryGVR(tc.want)) {
			t.Errorf("preferred %q of %v: got %v, %v; want %q", tc.preferred, tc.served, gvr, err, tc.want)
		}
	}
}

// Endpoint hostnames are looked up, and looked up again every Resolve.
func TestServiceEntriesEndpointHostnames(t *testing.T) {
	disc := newFakeEntryDiscovery()
	disc.serve("", "v1")
	client := newFakeEntryClient(entryOf(t, "v1", "foo", "httpbin-bar",
		`{hosts: [httpbin.bar.global], resolution: DNS, ports: [{name: http1, number: 8000}], endpoints: [{address: lb-west.example.com, ports: {http1: 15443}}]}`))
	dns := &fakeDNS{answers: map[string][]netip.Addr{"lb-west.example.com": addrs("198.51.100.9")}}
	s := NewServiceEntries(client, disc, ServiceEntriesOptions{Lookup: dns.lookup, Resolve: 20 * time.Millisecond})
	runEntries(t, s)
	cs := waitEntries(t, s, "the hostname's address", entryGatewayIs("foo-httpbin-bar", "198.51.100.9"))
	if g := cs[0].Gateway; g.Hostname != "lb-west.example.com" || g.Port != 15443 {
		t.Errorf("gateway %+v, want hostname lb-west.example.com and port 15443", g)
	}
	dns.set("lb-west.example.com", addrs("198.51.100.10", "198.51.100.11"), nil)
	waitEntries(t, s, "the re-resolved addresses", entryGatewayIs("foo-httpbin-bar", "198.51.100.10", "198.51.100.11"))
}

// A malformed entry is skipped with one warning naming it and the field; the others are served.
func TestServiceEntriesMalformed(t *testing.T) {
	disc := newFakeEntryDiscovery()
	disc.serve("", "v1")
	client := newFakeEntryClient(
		entryOf(t, "v1", "foo", "bad", `{hosts: [bad.shop.global], addresses: [not-an-ip]}`),
		entryOf(t, "v1", "foo", "good", `{hosts: [good.shop.global], addresses: [240.0.0.7]}`),
	)
	core, logs := observer.New(zap.DebugLevel)
	s := NewServiceEntries(client, disc, ServiceEntriesOptions{Log: zap.New(core)})
	runEntries(t, s)
	cs := waitEntries(t, s, "good listed", entryGatewayIs("foo-good", "240.0.0.7"))
	if len(cs) != 1 {
		t.Errorf("clusters %v, want only foo-good", names(cs))
	}
	warn := logs.FilterMessage("service entry skipped: malformed").All()
	if len(warn) != 1 || warn[0].ContextMap()["service_entry"] != "foo/bad" {
		t.Fatalf("warnings %v, want one about foo/bad", warn)
	}
	fields, _ := warn[0].ContextMap()["fields"].([]any)
	if len(fields) != 1 || fields[0] != `spec.addresses[0]: "not-an-ip" is not an IP address or CIDR` {
		t.Errorf("fields %v, want the bad address", fields)
	}
	// Another change of the source rebuilds; the unchanged bad entry is not logged again.
	ctx := context.Background()
	other := entryOf(t, "v1", "foo", "other", `{hosts: [other.shop.global], addresses: [240.0.0.8]}`)
	if _, err := client.Resource(entryGVR("v1")).Namespace("foo").Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEntries(t, s, "other listed", entryGatewayIs("foo-other", "240.0.0.8"))
	if n := logs.FilterMessage("service entry skipped: malformed").Len(); n != 1 {
		t.Errorf("%d warnings, want the one, once", n)
	}
}
