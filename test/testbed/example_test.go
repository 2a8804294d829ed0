package testbed_test

import (
	"context"
	"fmt"
	"log"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peerdns/peerdns/test/testbed"
)

// Two peer clusters, each with an identity that has no permissions yet; a
// test binary would do this once, in TestMain.
func ExampleStartAll() {
	ctx := context.Background()
	peers, err := testbed.StartAll(ctx, testbed.Options{Users: []string{"peerdns"}}, "east", "west")
	if err != nil {
		log.Fatal(err)
	}
	defer testbed.StopAll(peers...)

	east := peers[0]
	nss, err := east.Client().CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		log.Fatal(err)
	}
	// A kubeconfig that peerdns could be given for east, as "peerdns".
	kubeconfig, err := east.KubeconfigFor("peerdns", east.Token("peerdns"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(nss.Items) > 0, kubeconfig != "")
}
