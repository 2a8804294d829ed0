package resolver

// Answer order (SPEC section 3): clusters in the server's own region and zone first, then the
// rest of its region, then everyone else; within each of those, lower priority first. Clusters
// that share both form a tier, and answers rotate within a tier from query to query.

// localityRank is 0 for the server's own zone, 1 for its region, 2 for anywhere else. A server
// that does not know its locality ranks every cluster 0.
func localityRank(self, l Locality) int {
	switch {
	case self.Region == "":
		return 0
	case l.Region != self.Region:
		return 2
	case self.Zone != "" && l.Zone == self.Zone:
		return 0
	case self.Zone == "":
		return 0
	default:
		return 1
	}
}

// tierOf returns the answer tier of a cluster: locality rank first, then priority. Lower tiers
// come first; clusters of one tier take turns.
func tierOf(self, l Locality, priority int) int64 {
	return int64(localityRank(self, l))<<32 | int64(uint32(int32(priority))^1<<31)
}

// rotated visits n items in tier order, rotating each tier's items by turn: within a tier of k
// items, the first item visited is item turn%k of that tier. tierOf(i) is the tier of item i;
// items of one tier are contiguous. visit returns false to stop.
func rotated(n int, turn uint32, tierOf func(int) int64, visit func(int) bool) {
	for start := 0; start < n; {
		end := start + 1
		for end < n && tierOf(end) == tierOf(start) {
			end++
		}
		k := end - start
		off := int(turn % uint32(k))
		for j := 0; j < k; j++ {
			if !visit(start + (off+j)%k) {
				return
			}
		}
		start = end
	}
}
