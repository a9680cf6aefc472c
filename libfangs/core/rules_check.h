/*
 * core/rules_check.h - the configuration's check of inline rules (defined in
 * rules/parse.c, which owns the rule syntax; core/config.c calls it so that a
 * bad rule stops the load with its line).
 */
#ifndef FANGS_CORE_RULES_CHECK_H
#define FANGS_CORE_RULES_CHECK_H

#include <stddef.h>
#include <yaml.h>

/* Parses the rules of `seq` (a YAML sequence of `doc`, read from `file`) and
 * adds how many it holds to *count. 0 or a negative FANGS_E* code with the
 * message naming the line. */
int fangs__rules_check_seq(const char *file, yaml_document_t *doc, yaml_node_t *seq, size_t *count);

#endif
