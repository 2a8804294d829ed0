package stubdomain

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// editKubeDNS makes peerdns's stub domains in cm exactly want (nil: none), in place. Entries
// peerdns did not add keep their text and their place; a zone of want that someone else
// already forwards elsewhere is an error wrapping ErrZoneTaken. It returns notes for the
// operator: entries it found and left alone.
func editKubeDNS(cm *corev1.ConfigMap, want *Spec) ([]string, error) {
	text, exists := cm.Data[KubeDNSKey]
	if strings.TrimSpace(text) == "" {
		text = "{}"
	}
	owned := splitZones(cm.Annotations[ZonesAnnotation])
	created := cm.Annotations[CreatedAnnotation] == KubeDNSKey || !exists
	b := []byte(text)
	b, err := removeUnwanted(b, owned, want)
	if err != nil {
		return nil, err
	}
	var notes []string
	var ours []string
	if want != nil {
		if b, ours, notes, err = addWanted(b, owned, want); err != nil {
			return nil, err
		}
	}
	obj, err := parseObject(b)
	if err != nil {
		return nil, err
	}
	switch {
	case len(obj.members) == 0 && created:
		delete(cm.Data, KubeDNSKey)
		setAnnotation(cm, CreatedAnnotation, "")
	case string(b) == text:
		// unchanged: a blank value stays as it was
	case created:
		setData(cm, KubeDNSKey, string(b))
		setAnnotation(cm, CreatedAnnotation, KubeDNSKey)
	default:
		setData(cm, KubeDNSKey, string(b))
	}
	setAnnotation(cm, ZonesAnnotation, strings.Join(ours, ","))
	return notes, nil
}

// removeUnwanted removes the entries peerdns added that want does not have.
func removeUnwanted(b []byte, owned []string, want *Spec) ([]byte, error) {
	for {
		obj, err := parseObject(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", KubeDNS.Ref(), err)
		}
		i := slices.IndexFunc(obj.members, func(m jsonMember) bool {
			z := normalKey(m.key)
			return slices.Contains(owned, z) && (want == nil || !slices.Contains(want.Zones, z))
		})
		if i < 0 {
			return b, nil
		}
		b = obj.remove(i)
	}
}

// addWanted adds or updates each zone of want. It returns the zones that are peerdns's.
func addWanted(b []byte, owned []string, want *Spec) (out []byte, ours, notes []string, err error) {
	value, _ := json.Marshal([]string{want.Server}) // a []string always marshals
	for _, zone := range want.Zones {
		obj, err := parseObject(b)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", KubeDNS.Ref(), err)
		}
		i := slices.IndexFunc(obj.members, func(m jsonMember) bool { return normalKey(m.key) == zone })
		switch {
		case i < 0:
			b = obj.add(zone, string(value))
		case sameServers(obj.members[i].value, want.Server):
			if !slices.Contains(owned, zone) {
				notes = append(notes, fmt.Sprintf("%s: stub domain %q already forwards to %s and was not added by peerdns: left as it is, and uninstall will leave it",
					KubeDNS.Ref(), obj.members[i].key, obj.members[i].value))
				continue
			}
		case !slices.Contains(owned, zone):
			return nil, nil, nil, fmt.Errorf("%s: stub domain %q forwards to %s and was not added by peerdns: %w; remove it or install another --zone",
				KubeDNS.Ref(), obj.members[i].key, obj.members[i].value, ErrZoneTaken)
		default:
			b = obj.setValue(i, string(value))
		}
		ours = append(ours, zone)
	}
	return b, ours, notes, nil
}

// normalKey is a stubDomains key as a zone: lower case, no final dot.
func normalKey(k string) string { return strings.TrimSuffix(strings.ToLower(k), ".") }

// sameServers reports whether a stubDomains value is the list of just server.
func sameServers(value json.RawMessage, server string) bool {
	var list []string
	return json.Unmarshal(value, &list) == nil && len(list) == 1 && list[0] == server
}

// kubeDNSState reads what peerdns installed in the kube-dns ConfigMap.
func kubeDNSState(cm *corev1.ConfigMap) (State, error) {
	var st State
	owned := splitZones(cm.Annotations[ZonesAnnotation])
	text, ok := cm.Data[KubeDNSKey]
	if !ok || len(owned) == 0 {
		return st, nil
	}
	obj, err := parseObject([]byte(text))
	if err != nil {
		return st, fmt.Errorf("%s: %w", KubeDNS.Ref(), err)
	}
	for _, m := range obj.members {
		z := normalKey(m.key)
		if !slices.Contains(owned, z) {
			continue
		}
		st.Zones = append(st.Zones, z)
		var list []string
		if st.Server == "" && json.Unmarshal(m.value, &list) == nil && len(list) > 0 {
			st.Server = list[0]
		}
	}
	st.Installed = len(st.Zones) > 0
	return st, nil
}

// setData sets a data key, making the map if needed.
func setData(cm *corev1.ConfigMap, key, value string) {
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[key] = value
}

// setAnnotation sets an annotation, or removes it when value is empty; an emptied map becomes
// nil, as the API server returns it.
func setAnnotation(cm *corev1.ConfigMap, key, value string) {
	if value == "" {
		delete(cm.Annotations, key)
		if len(cm.Annotations) == 0 {
			cm.Annotations = nil
		}
		return
	}
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[key] = value
}
