package peerdnsctl

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peerdns/peerdns/internal/stubdomain"
)

// TestConflictRetry changes the ConfigMap between peerdnsctl's read and its write, on the real
// API server: the write conflicts, is re-applied on a fresh read, and both changes survive.
func TestConflictRetry(t *testing.T) {
	local.LogOnFailure(t)
	tests := []struct {
		target    stubdomain.Target
		before    map[string]string
		key       string
		meanwhile func(string) string // the other writer's edit of key
		after     string
	}{
		{
			target: stubdomain.KubeDNS, before: kubeDNSData, key: "stubDomains",
			meanwhile: func(s string) string {
				return strings.Replace(s, `]}`, `],"other.example": ["10.0.0.5"]}`, 1)
			},
			after: `{"acme.local": ["10.150.0.1"],"other.example": ["10.0.0.5"],"global": ["10.96.0.20"]}`,
		},
		{
			target: stubdomain.CoreDNS, before: coreDNSData, key: "Corefile",
			meanwhile: func(s string) string { return s + "# edited meanwhile\n" },
			after: kubeadmCorefile + "# edited meanwhile\n" +
				"# peerdns begin\nglobal:53 {\n    errors\n    cache 30\n    forward . 10.96.0.20\n}\n# peerdns end\n",
		},
	}
	for _, tc := range tests {
		t.Run(string(tc.target), func(t *testing.T) {
			reset(t, tc.target, tc.before)
			ctx := context.Background()
			cms := local.Client().CoreV1().ConfigMaps("kube-system")
			hooked := 0
			opts := stubdomain.Options{
				Client: local.Client(), Host: local.URL,
				BeforeWrite: func(ctx context.Context, attempt int) {
					hooked++
					if attempt > 0 {
						return
					}
					cm, err := cms.Get(ctx, configMapName(tc.target), metav1.GetOptions{})
					if err != nil {
						t.Errorf("the other writer's read: %v", err)
						return
					}
					cm.Data[tc.key] = tc.meanwhile(cm.Data[tc.key])
					cm.Data["written-meanwhile"] = "yes"
					if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
						t.Errorf("the other writer's write: %v", err)
					}
				},
			}
			want := &stubdomain.Spec{Zones: []string{"global"}, Server: serverIP}
			res, err := stubdomain.Apply(ctx, tc.target, func(stubdomain.State) (*stubdomain.Spec, error) { return want, nil }, opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Attempts != 2 || hooked != 2 {
				t.Errorf("attempts %d, hook called %d times; want 2 and 2", res.Attempts, hooked)
			}
			cm := get(t, tc.target)
			if got := cm.Data[tc.key]; got != tc.after {
				t.Errorf("%s:\n%s\nwant both changes:\n%s", tc.key, got, tc.after)
			}
			if cm.Data["written-meanwhile"] != "yes" {
				t.Errorf("the other writer's key was lost: %v", cm.Data)
			}
		})
	}
}
