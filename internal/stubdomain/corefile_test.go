package stubdomain

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// kubeadmCorefile is the Corefile kubeadm writes.
const kubeadmCorefile = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
`

const globalBlock = `# peerdns begin
global:53 {
    errors
    cache 30
    forward . 10.96.0.20
}
# peerdns end
`

// odd is a Corefile with comments, tabs, a snippet, imports and another server block.
const odd = "# cluster DNS\n(common) {\n\terrors\n\tlog\n}\n\n.:1053   {\n\timport common\n\timport /etc/coredns/custom/*.override\n" +
	"\tforward .  8.8.8.8   # upstream\n}\n\nacme.local:1053 {\n  import common\n  forward . 10.150.0.1\n}\nimport /etc/coredns/custom/*.server\nimport extra.conf\n   # trailing comment"

func TestEditCorefile(t *testing.T) {
	tests := []struct {
		name   string
		before string
		want   *Spec
		after  string
	}{
		{"kubeadm", kubeadmCorefile, global, kubeadmCorefile + globalBlock},
		{"no final newline", strings.TrimSuffix(kubeadmCorefile, "\n"), global,
			kubeadmCorefile + strings.TrimSuffix(globalBlock, "\n")},
		{"other blocks, comments, imports, port 1053", odd,
			&Spec{Zones: []string{"global", "shop.svc.cluster.local"}, Server: "[fd00::10]:5353"},
			odd + "\n# peerdns begin\nglobal:1053 shop.svc.cluster.local:1053 {\n    errors\n    cache 30\n    forward . [fd00::10]:5353\n}\n# peerdns end"},
		{"empty", "", global, globalBlock},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EditCorefile(tc.before, tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.after {
				t.Fatalf("after install:\n%s\nwant:\n%s", got, tc.after)
			}
			if again, err := EditCorefile(got, tc.want); err != nil || again != got {
				t.Errorf("second install changed it (%v):\n%s", err, again)
			}
			if back, err := EditCorefile(got, nil); err != nil || back != tc.before {
				t.Errorf("after uninstall (%v):\n%q\nwant:\n%q", err, back, tc.before)
			}
		})
	}
}

func TestEditCorefileKeepsPlace(t *testing.T) {
	before := "# head\n" + globalBlock + "\t# between\n" + kubeadmCorefile + "# tail"
	got, err := EditCorefile(before, &Spec{Zones: []string{"global"}, Server: "10.96.0.30"})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(before, "forward . 10.96.0.20", "forward . 10.96.0.30", 1)
	if got != want {
		t.Errorf("block not replaced in place:\n%s\nwant:\n%s", got, want)
	}
	back, err := EditCorefile(got, nil)
	if err != nil || back != "# head\n\t# between\n"+kubeadmCorefile+"# tail" {
		t.Errorf("uninstall (%v):\n%q", err, back)
	}
	st, err := coreDNSState(configMapWith(got))
	if err != nil || !st.Installed || strings.Join(st.Zones, ",") != "global" || st.Server != "10.96.0.30" {
		t.Errorf("state = %+v, %v", st, err)
	}
}

func TestEditCorefileRejects(t *testing.T) {
	tests := []struct {
		name, before string
		target       error  // nil: any error
		msg          string // in the error
	}{
		{"zone served by another block", kubeadmCorefile + "global:53 {\n    forward . 10.1.1.1\n}\n",
			ErrZoneTaken, `zone "global" on port 53 is already served by the server block "global:53"`},
		{"zone served with transport and capitals", kubeadmCorefile + "dns://GLOBAL. {\n    whoami\n}\n",
			ErrZoneTaken, `"dns://GLOBAL."`},
		{"typo in a directive", kubeadmCorefile + "acme.local {\n    forwrd . 10.150.0.1\n}\n",
			nil, "Unknown directive 'forwrd'"},
		{"unbalanced braces", kubeadmCorefile + "acme.local {\n    forward . 10.150.0.1\n",
			nil, "does not parse"},
		{"begin without end", kubeadmCorefile + "# peerdns begin\nglobal {\n}\n",
			ErrMarkers, "line 24 without"},
		{"end without begin", "# peerdns end\n" + kubeadmCorefile, ErrMarkers, "line 1"},
		{"two blocks", globalBlock + globalBlock, ErrMarkers, "a second"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EditCorefile(tc.before, global)
			if err == nil || (tc.target != nil && !errors.Is(err, tc.target)) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want %v containing %q", err, tc.target, tc.msg)
			}
		})
	}
}

func TestEditCorefileOtherPortNoClash(t *testing.T) {
	before := kubeadmCorefile + "global:1053 {\n    whoami\n}\n"
	if _, err := EditCorefile(before, global); err != nil {
		t.Errorf("a block on another port is no clash: %v", err)
	}
}

func TestEditCorefileRejectsBadBlock(t *testing.T) {
	// A server address that breaks the block's syntax is caught by the parse of the result.
	_, err := EditCorefile(kubeadmCorefile, &Spec{Zones: []string{"global"}, Server: "10.96.0.20 }"})
	if err == nil || !strings.Contains(err.Error(), "would not parse with peerdns's block") {
		t.Errorf("err = %v", err)
	}
}

func configMapWith(corefile string) *corev1.ConfigMap {
	return &corev1.ConfigMap{Data: map[string]string{CoreDNSKey: corefile}}
}
