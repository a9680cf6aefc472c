/*
 * sensor/cgroup_internal.h - cgroup helpers for the sensor.
 */
#ifndef FANGS_SENSOR_CGROUP_INTERNAL_H
#define FANGS_SENSOR_CGROUP_INTERNAL_H

/* Depth of `path` below the cgroup-v2 mount `root` (root itself = 0), as
 * bpf_get_current_ancestor_cgroup_id() counts it; -1 when outside. */
int fangs__cgroup_level(const char *root, const char *path);

#endif
