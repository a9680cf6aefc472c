/*
 * scan/project.h - what scan.c asks of project.c for a project scan.
 */
#ifndef FANGS_SCAN_PROJECT_H
#define FANGS_SCAN_PROJECT_H

#include "fangs/analyze.h"
#include "fangs/differ.h"
#include "fangs/event.h"
#include "fangs/scan.h"
#include "fangs/storage.h"

/* After the prefetch: reads the lockfile the project directory now holds
 * into out->lock, names the install after the project and, when only the
 * judged dependencies' scripts are to run, makes them the copy's whole
 * allowScripts. */
int fangs__project_prepared(const char *project_dir, const fangs_project_scan_options *pj, int resolved,
			    fangs_project_scan_result *out);

/* After the install: one stored and judged run per judged dependency with
 * the events its scripts caused. `whole` is the install's run (not stored). */
int fangs__project_judge(const fangs_scan_options *opts, const fangs_project_scan_options *pj,
			 fangs_project_scan_result *out, const fangs_run *whole, const fangs_event_list *events,
			 const fangs_differ *differ, const fangs_analyze_options *ao);

#endif
