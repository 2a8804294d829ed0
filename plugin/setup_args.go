package plugin

import (
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

// absPath makes a relative path relative to the root directive's folder, if there is one.
func absPath(path, root string) string {
	if filepath.IsAbs(path) || root == "" {
		return path
	}
	return filepath.Join(root, path)
}

// appendPath reads the single path argument of an option that may be repeated.
func appendPath(c *caddy.Controller, paths []string, root string) ([]string, error) {
	opt, args := c.Val(), c.RemainingArgs()
	if len(args) != 1 {
		return nil, c.ArgErr()
	}
	path := absPath(args[0], root)
	if slices.Contains(paths, path) {
		return nil, c.Errf("%s %q is given twice", opt, args[0])
	}
	return append(paths, path), nil
}

// labelArg reads a single namespace name.
func labelArg(c *caddy.Controller) (string, error) {
	opt, args := c.Val(), c.RemainingArgs()
	if len(args) != 1 {
		return "", c.ArgErr()
	}
	if errs := validation.IsDNS1123Label(args[0]); len(errs) > 0 {
		return "", c.Errf("%s: %q is not a namespace name: %s", opt, args[0], strings.Join(errs, "; "))
	}
	return args[0], nil
}

// gatewayArg reads NAMESPACE/NAME.
func gatewayArg(c *caddy.Controller) (types.NamespacedName, error) {
	args := c.RemainingArgs()
	if len(args) != 1 {
		return types.NamespacedName{}, c.ArgErr()
	}
	ns, name, ok := strings.Cut(args[0], "/")
	if !ok || len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1035Label(name)) > 0 {
		return types.NamespacedName{}, c.Errf("gateway must be NAMESPACE/NAME of a Service, not %q", args[0])
	}
	return types.NamespacedName{Namespace: ns, Name: name}, nil
}

// selectorArg reads a label selector; its words are joined, so "app in (a, b)" needs no quotes.
func selectorArg(c *caddy.Controller) (string, error) {
	args := c.RemainingArgs()
	if len(args) == 0 {
		return "", c.ArgErr()
	}
	sel := strings.Join(args, " ")
	if _, err := labels.Parse(sel); err != nil {
		return "", c.Errf("export_selector %q: %v", sel, err)
	}
	return sel, nil
}

// namespacesArg reads one or more namespace names.
func namespacesArg(c *caddy.Controller) ([]string, error) {
	args := c.RemainingArgs()
	if len(args) == 0 {
		return nil, c.ArgErr()
	}
	for _, ns := range args {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, c.Errf("namespaces: %q is not a namespace name: %s", ns, strings.Join(errs, "; "))
		}
	}
	return args, nil
}

// domainArg reads the optional cluster domain of remote_namespaces; default cluster.local.
func domainArg(c *caddy.Controller) (string, error) {
	args := c.RemainingArgs()
	switch {
	case len(args) == 0:
		return "cluster.local.", nil
	case len(args) > 1:
		return "", c.ArgErr()
	}
	if _, ok := dns.IsDomainName(args[0]); !ok || args[0] == "." {
		return "", c.Errf("remote_namespaces: %q is not a cluster domain", args[0])
	}
	return dns.CanonicalName(args[0]), nil
}

// durationArg reads a positive duration such as 30s or 5m.
func durationArg(c *caddy.Controller) (time.Duration, error) {
	opt, args := c.Val(), c.RemainingArgs()
	if len(args) != 1 {
		return 0, c.ArgErr()
	}
	d, err := time.ParseDuration(args[0])
	if err != nil || d <= 0 {
		return 0, c.Errf("%s must be a positive duration such as 30s or 5m, not %q", opt, args[0])
	}
	return d, nil
}
