/*
 * fangs/fangs.h - the umbrella header: everything a libfangs user needs.
 */
#ifndef FANGS_FANGS_H
#define FANGS_FANGS_H

#include "common.h"
#include "errors.h"
#include "log.h"
#include "config.h"
#include "event.h"
#include "fingerprint.h"
#include "differ.h"
#include "rules.h"
#include "decoy.h"
#include "storage.h"
#include "analyze.h"
#include "findings.h"
#include "sensor.h"
#include "cgroup.h"
#include "proxy.h"
#include "sandbox.h"
#include "registry.h"
#include "project.h"
#include "scan.h"
#include "notifier.h"
#include "wire.h"
#include "text.h"
#include "encode.h"

#endif
