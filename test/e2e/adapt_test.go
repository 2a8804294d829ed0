package e2e

import (
	"slices"
	"strings"
	"testing"
)

func TestCorefileBlocks(t *testing.T) {
	md := "# x\n\n~~~ corefile\n. {\n    whoami\n}\n~~~\n\n```txt\nnot this\n```\n\n```Corefile\nglobal {\n}\n```\n"
	got := corefileBlocks(md)
	want := []string{". {\n    whoami\n}\n", "global {\n}\n"}
	if !slices.Equal(got, want) {
		t.Errorf("blocks %q, want %q", got, want)
	}
}

func TestAdapt(t *testing.T) {
	block := `# a documented example
global:53 mesh.example {
    bind 10.0.0.1
    health :8080 {
        lameduck 5s
    }
    ready
    kubernetes cluster.local {
        pods insecure
    }
    peerdns global mesh.example {
        static /etc/peerdns/peers.yaml   # the peers
        kubeconfig /etc/peerdns/peers
        ttl 10
    }
    forward . 127.0.0.1:5300
}
`
	env := adaptEnv{
		static: "/t/peers.yaml", kubeconfig: "/t/kc", port: func() int { return 4242 },
		ports: map[string]int{}, logf: t.Logf,
	}
	ex := adapt(block, env)
	want := `global:{port} mesh.example:{port} {
    bind 127.0.0.1
    health 127.0.0.1:4242 {
        lameduck 5s
    }
    ready 127.0.0.1:4242
    peerdns global mesh.example {
        static /t/peers.yaml
        kubeconfig /t/kc
        ttl 10
    }
    forward . 127.0.0.1:5300
}
`
	if ex.text != want {
		t.Errorf("adapted:\n%s\nwant:\n%s", ex.text, want)
	}
	if !ex.static || !slices.Equal(ex.zones, []string{"global.", "mesh.example."}) {
		t.Errorf("zones %v static %v", ex.zones, ex.static)
	}
	frag := adapt("peerdns {\n    static x.yaml\n}\n", env)
	if !strings.HasPrefix(frag.text, "global:{port} {") || !slices.Equal(frag.zones, []string{"global."}) {
		t.Errorf("fragment adapted to:\n%s zones %v", frag.text, frag.zones)
	}
}
