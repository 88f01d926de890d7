package triage

// instanceCauses are the catalog entries of instances as their clients see them:
// ports (instance.dynamic_port, instance.port_mismatch, spn.stale_port), failover-cluster
// names (cluster.spn_on_node) and names and aliases (name.alias, name.server_name).
func instanceCauses() []Cause {
	return nil
}
