package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/peerdns/peerdns/resolver"
)

// The Istio resource the serviceentries source reads, and its versions, newest first: Istio
// 1.22 and later serve v1, older releases v1beta1, and those of 2019 v1alpha3.
const (
	serviceEntryGroup    = "networking.istio.io"
	serviceEntryResource = "serviceentries"
)

var serviceEntryVersions = []string{"v1", "v1beta1", "v1alpha3"}

// errNotServed says that the local cluster does not serve the ServiceEntry resource in any
// version peerdns reads: Istio's CRDs are not installed.
var errNotServed = errors.New("the local cluster does not serve " + serviceEntryResource + "." +
	serviceEntryGroup + " (versions " + strings.Join(serviceEntryVersions, ", ") + ")")

// discover asks discovery for the version to watch until it has one, and returns it; false when
// ctx ended first. While the resource is not served, the source is ready with no clusters.
func (s *ServiceEntries) discover(ctx context.Context, changed func()) (schema.GroupVersionResource, bool) {
	wait := time.Second // after a failed request: doubled up to Discover
	lastErr, missing := "", false
	for {
		gvr, err := s.servedVersion()
		if err == nil {
			if missing {
				s.log.Info("ServiceEntry resource served now, watching it", zap.String("version", gvr.Version))
			}
			return gvr, true
		}
		next := s.opts.Discover
		if errors.Is(err, errNotServed) {
			missing = true
			if s.cur.Load() == nil {
				s.cur.Store(&[]resolver.Cluster{})
				changed()
			}
		} else {
			next, wait = wait, min(2*wait, s.opts.Discover)
		}
		if err.Error() != lastErr {
			s.logDiscovery(err)
			lastErr = err.Error()
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return schema.GroupVersionResource{}, false
		case <-t.C:
		}
	}
}

// logDiscovery says why no ServiceEntry is read.
func (s *ServiceEntries) logDiscovery(err error) {
	if errors.Is(err, errNotServed) {
		s.log.Warn("ServiceEntry CRD not installed: no service entries served until it is",
			zap.Error(err), zap.Duration("checking_every", s.opts.Discover))
		return
	}
	s.log.Warn("cannot ask the local cluster which ServiceEntry version it serves, retrying", zap.Error(err))
}

// servedVersion returns the ServiceEntry resource of the version the API server prefers among
// those peerdns reads, else the newest it serves; errNotServed when it serves none.
func (s *ServiceEntries) servedVersion() (schema.GroupVersionResource, error) {
	groups, err := s.disc.ServerGroups()
	if err != nil {
		return schema.GroupVersionResource{}, fmt.Errorf("discovery of API groups: %w", err)
	}
	var candidates []string
	for _, g := range groups.Groups {
		if g.Name != serviceEntryGroup {
			continue
		}
		if slices.Contains(serviceEntryVersions, g.PreferredVersion.Version) {
			candidates = append(candidates, g.PreferredVersion.Version)
		}
		for _, v := range serviceEntryVersions {
			if slices.ContainsFunc(g.Versions, func(gv metav1.GroupVersionForDiscovery) bool { return gv.Version == v }) {
				candidates = append(candidates, v)
			}
		}
	}
	for _, v := range candidates {
		gvr := schema.GroupVersionResource{Group: serviceEntryGroup, Version: v, Resource: serviceEntryResource}
		list, err := s.disc.ServerResourcesForGroupVersion(gvr.GroupVersion().String())
		switch {
		case apierrors.IsNotFound(err):
			continue // the version went away since the groups were listed
		case err != nil:
			return gvr, fmt.Errorf("discovery of %s: %w", gvr.GroupVersion(), err)
		}
		for _, r := range list.APIResources {
			if r.Name == serviceEntryResource {
				return gvr, nil
			}
		}
	}
	return schema.GroupVersionResource{}, errNotServed
}
