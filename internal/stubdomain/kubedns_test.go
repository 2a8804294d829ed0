package stubdomain

import (
	"errors"
	"maps"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func kubeDNSMap(stubDomains *string) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: KubeDNSName},
		Data:       map[string]string{"upstreamNameservers": `["8.8.8.8", "8.8.4.4"]`},
	}
	if stubDomains != nil {
		cm.Data[KubeDNSKey] = *stubDomains
	}
	return cm
}

func ptr(s string) *string { return &s }

var global = &Spec{Zones: []string{"global"}, Server: "10.96.0.20"}

func TestEditKubeDNS(t *testing.T) {
	tests := []struct {
		name   string
		before *string // nil: no stubDomains key
		want   *Spec
		after  string // stubDomains after install
	}{
		{"no key", nil, global, `{"global":["10.96.0.20"]}`},
		{"empty object", ptr(`{}`), global, `{"global":["10.96.0.20"]}`},
		{"unrelated entry", ptr(`{"acme.local": ["10.150.0.1"]}`), global,
			`{"acme.local": ["10.150.0.1"],"global": ["10.96.0.20"]}`},
		{"compact", ptr(`{"acme.local":["10.150.0.1"],"b.example":["10.0.0.1:5353"]}`), global,
			`{"acme.local":["10.150.0.1"],"b.example":["10.0.0.1:5353"],"global":["10.96.0.20"]}`},
		{"one member a line", ptr("{\n    \"acme.local\": [ \"10.150.0.1\" ],\n\t\"z.example\" :[\"10.0.0.9\"]\n}\n"), global,
			"{\n    \"acme.local\": [ \"10.150.0.1\" ],\n\t\"z.example\" :[\"10.0.0.9\"],\n    \"global\": [\"10.96.0.20\"]\n}\n"},
		{"escaped key and odd values kept", ptr(` { "\u0061cme.local" : ["10.150.0.1" , "10.150.0.2"], "x.example": []} `), global,
			` { "\u0061cme.local" : ["10.150.0.1" , "10.150.0.2"], "x.example": [],"global": ["10.96.0.20"]} `},
		{"two zones and a port", ptr(`{"acme.local": ["10.150.0.1"]}`),
			&Spec{Zones: []string{"global", "shop.svc.cluster.local"}, Server: "[fd00::10]:5353"},
			`{"acme.local": ["10.150.0.1"],"global": ["[fd00::10]:5353"],"shop.svc.cluster.local": ["[fd00::10]:5353"]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := kubeDNSMap(tc.before)
			cm := orig.DeepCopy()
			if _, err := editKubeDNS(cm, tc.want); err != nil {
				t.Fatal(err)
			}
			if got := cm.Data[KubeDNSKey]; got != tc.after {
				t.Errorf("after install:\n got %s\nwant %s", got, tc.after)
			}
			if got, want := cm.Annotations[ZonesAnnotation], strings.Join(tc.want.Zones, ","); got != want {
				t.Errorf("annotation %s = %q, want %q", ZonesAnnotation, got, want)
			}
			if cm.Data["upstreamNameservers"] != orig.Data["upstreamNameservers"] {
				t.Errorf("another key changed: %q", cm.Data["upstreamNameservers"])
			}
			st, err := kubeDNSState(cm)
			if err != nil || !st.Installed || strings.Join(st.Zones, ",") != strings.Join(tc.want.Zones, ",") || st.Server != tc.want.Server {
				t.Errorf("state = %+v, %v", st, err)
			}
			again := cm.DeepCopy()
			if _, err := editKubeDNS(again, tc.want); err != nil || !maps.Equal(again.Data, cm.Data) || !maps.Equal(again.Annotations, cm.Annotations) {
				t.Errorf("second install changed something (%v): %q", err, again.Data[KubeDNSKey])
			}
			if _, err := editKubeDNS(cm, nil); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(cm.Data, orig.Data) || len(cm.Annotations) != 0 {
				t.Errorf("after uninstall: data %q annotations %v, want data %q and none", cm.Data, cm.Annotations, orig.Data)
			}
		})
	}
}

func TestEditKubeDNSChanges(t *testing.T) {
	cm := kubeDNSMap(ptr(`{"acme.local": ["10.150.0.1"]}`))
	two := &Spec{Zones: []string{"global", "shop.svc.cluster.local"}, Server: "10.96.0.20"}
	mustEdit(t, cm, two)
	// Someone adds an entry after ours.
	cm.Data[KubeDNSKey] = strings.TrimSuffix(cm.Data[KubeDNSKey], "}") + `,"late.example": ["10.1.1.1"]}`
	// A new address replaces the value in place; a zone left out goes.
	mustEdit(t, cm, &Spec{Zones: []string{"global"}, Server: "10.96.0.30"})
	if got, want := cm.Data[KubeDNSKey], `{"acme.local": ["10.150.0.1"],"global": ["10.96.0.30"],"late.example": ["10.1.1.1"]}`; got != want {
		t.Errorf("after the change:\n got %s\nwant %s", got, want)
	}
	mustEdit(t, cm, nil)
	if got, want := cm.Data[KubeDNSKey], `{"acme.local": ["10.150.0.1"],"late.example": ["10.1.1.1"]}`; got != want {
		t.Errorf("after uninstall:\n got %s\nwant %s", got, want)
	}
}

func mustEdit(t *testing.T, cm *corev1.ConfigMap, want *Spec) {
	t.Helper()
	if _, err := editKubeDNS(cm, want); err != nil {
		t.Fatal(err)
	}
}

func TestEditKubeDNSNotOurs(t *testing.T) {
	t.Run("forwards elsewhere", func(t *testing.T) {
		for _, existing := range []string{`{"global": ["10.1.2.3"]}`, `{"GLOBAL.": ["10.1.2.3"]}`, `{"global": "10.96.0.20"}`} {
			cm := kubeDNSMap(ptr(existing))
			_, err := editKubeDNS(cm, global)
			if !errors.Is(err, ErrZoneTaken) || !strings.Contains(err.Error(), "kube-system/kube-dns stubDomains") {
				t.Errorf("%s: err = %v, want ErrZoneTaken naming the ConfigMap", existing, err)
			}
			if cm.Data[KubeDNSKey] != existing {
				t.Errorf("%s: changed to %s", existing, cm.Data[KubeDNSKey])
			}
		}
	})
	t.Run("same address", func(t *testing.T) {
		cm := kubeDNSMap(ptr(`{"global": ["10.96.0.20"]}`))
		notes, err := editKubeDNS(cm, global)
		if err != nil || len(notes) != 1 || !strings.Contains(notes[0], `"global"`) {
			t.Fatalf("notes %q, err %v", notes, err)
		}
		if cm.Annotations[ZonesAnnotation] != "" || cm.Data[KubeDNSKey] != `{"global": ["10.96.0.20"]}` {
			t.Errorf("claimed or changed: %v %q", cm.Annotations, cm.Data[KubeDNSKey])
		}
		mustEdit(t, cm, nil)
		if cm.Data[KubeDNSKey] != `{"global": ["10.96.0.20"]}` {
			t.Errorf("uninstall removed an entry peerdns did not add: %q", cm.Data[KubeDNSKey])
		}
	})
}

func TestEditKubeDNSBadInput(t *testing.T) {
	for _, text := range []string{`{"a": [}`, `["10.0.0.1"]`, `{"a": ["10.0.0.1"]} {}`, `null`} {
		cm := kubeDNSMap(ptr(text))
		if _, err := editKubeDNS(cm, global); err == nil || !strings.Contains(err.Error(), KubeDNSKey) {
			t.Errorf("%s: err = %v, want an error naming stubDomains", text, err)
		}
	}
	// A blank value is left alone when there is nothing to remove.
	cm := kubeDNSMap(ptr("  "))
	mustEdit(t, cm, nil)
	if cm.Data[KubeDNSKey] != "  " {
		t.Errorf("blank value changed to %q", cm.Data[KubeDNSKey])
	}
}

func TestParseServer(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.96.0.20", "10.96.0.20"},
		{"10.96.0.20:53", "10.96.0.20"},
		{"10.96.0.20:5353", "10.96.0.20:5353"},
		{"fd00::10", "fd00::10"},
		{"[fd00::10]:5353", "[fd00::10]:5353"},
		{"peerdns.peerdns.svc", ""},
		{"10.96.0.20:0", ""},
		{"10.96.0.20:99999", ""},
		{"fe80::1%eth0", ""},
	}
	for _, tc := range tests {
		got, err := ParseServer(tc.in)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("ParseServer(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := ParseServer("peerdns.example"); !errors.Is(err, ErrServerName) {
		t.Errorf("a name: err = %v, want ErrServerName", err)
	}
}

func TestNormalizeZone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"global", "global"},
		{"Global.", "global"},
		{"shop.svc.cluster.local.", "shop.svc.cluster.local"},
		{".", ""},
		{"", ""},
		{"a..b", ""},
		{"with space", ""},
		{strings.Repeat("a", 64), ""},
	}
	for _, tc := range tests {
		got, err := NormalizeZone(tc.in)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("NormalizeZone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
