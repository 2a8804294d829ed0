package plugin

import (
	"reflect"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"k8s.io/apimachinery/pkg/types"
)

func TestParsePeerOptions(t *testing.T) {
	input := `peerdns {
		kubeconfig /etc/peerdns/peers
		kubeconfig /etc/peerdns/extra.yaml
		remote_secrets istio-system
		local_kubeconfig /etc/peerdns/local.yaml admin@local
		gateway istio-system/eastwestgateway
		export_selector app in (web, api), tier!=internal
		namespaces default shop
		remote_namespaces
		stale_grace 30s
		startup_timeout 10s
		snapshot_file /var/lib/peerdns/map.json
	}`
	c := caddy.NewTestController("dns", input)
	c.ServerBlockKeys = []string{"global.:53", "cluster.local.:53"}
	got, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	want := config{
		zones:           []string{"global."},
		kubeconfig:      []string{"/etc/peerdns/peers", "/etc/peerdns/extra.yaml"},
		remoteSecrets:   "istio-system",
		localKubeconfig: "/etc/peerdns/local.yaml",
		localContext:    "admin@local",
		gateway:         types.NamespacedName{Namespace: "istio-system", Name: "eastwestgateway"},
		exportSelector:  "app in (web, api), tier!=internal",
		namespaces:      []string{"default", "shop"},
		remoteDomain:    "cluster.local.",
		ttl:             5,
		negativeTTL:     5,
		staleGrace:      30 * time.Second,
		startupTimeout:  10 * time.Second,
		snapshotFile:    "/var/lib/peerdns/map.json",
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("\n got %+v\nwant %+v", *got, want)
	}
}

func TestParsePeerOptionErrors(t *testing.T) {
	const pre = "peerdns {\n static a.yaml\n "
	cases := []struct{ input, err string }{
		{pre + "kubeconfig\n}", "Testfile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'kubeconfig'"},
		{pre + "kubeconfig a\n kubeconfig a\n}", `Testfile:4 - Error during parsing: kubeconfig "a" is given twice`},
		{pre + "remote_secrets Istio_System\n}", `Testfile:3 - Error during parsing: remote_secrets: "Istio_System" is not a namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		{pre + "remote_secrets a b\n}", "Testfile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'b'"},
		{pre + "local_kubeconfig\n}", "Testfile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'local_kubeconfig'"},
		{pre + "gateway istio-ingressgateway\n}", `Testfile:3 - Error during parsing: gateway must be NAMESPACE/NAME of a Service, not "istio-ingressgateway"`},
		{pre + "gateway a/b/c\n}", `Testfile:3 - Error during parsing: gateway must be NAMESPACE/NAME of a Service, not "a/b/c"`},
		{pre + "export_selector app in web\n}", `Testfile:3 - Error during parsing: export_selector "app in web": unable to parse requirement: found 'web' expected: '('`},
		{pre + "export_selector\n}", "Testfile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'export_selector'"},
		{pre + "namespaces\n}", "Testfile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'namespaces'"},
		{pre + "namespaces ok Bad\n}", `Testfile:3 - Error during parsing: namespaces: "Bad" is not a namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		{pre + "remote_namespaces a b\n}", "Testfile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'b'"},
		{pre + "remote_namespaces .\n}", `Testfile:3 - Error during parsing: remote_namespaces: "." is not a cluster domain`},
		{pre + "stale_grace 5\n}", `Testfile:3 - Error during parsing: stale_grace must be a positive duration such as 30s or 5m, not "5"`},
		{pre + "startup_timeout -1s\n}", `Testfile:3 - Error during parsing: startup_timeout must be a positive duration such as 30s or 5m, not "-1s"`},
		{pre + "snapshot_file\n}", "Testfile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'snapshot_file'"},
	}
	for _, tc := range cases {
		_, err := parse(caddy.NewTestController("dns", tc.input))
		if err == nil || err.Error() != tc.err {
			t.Errorf("%q:\n got error %v\nwant %s", tc.input, err, tc.err)
		}
	}
}
