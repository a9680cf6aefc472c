/*
 * Configuration: a full file loads, defaults hold, and every mistake is an
 * error naming the file, the line and the key.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fangs/fangs.h"

static fangs_config *load(const char *yaml)
{
	fangs_config *cfg = NULL;
	int rc = fangs_config_load_string(&cfg, yaml, strlen(yaml), "test.yaml");
	ck_assert_msg(rc == 0, "load failed: %s", fangs_error_last());
	return cfg;
}

static void load_bad(const char *yaml, const char *needle)
{
	fangs_config *cfg = NULL;
	int rc = fangs_config_load_string(&cfg, yaml, strlen(yaml), "test.yaml");
	ck_assert_msg(rc == FANGS_ECONFIG, "accepted: %s", yaml);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(fangs_error_last(), needle), "message '%s' lacks '%s'", fangs_error_last(), needle);
}

START_TEST(test_defaults)
{
	fangs_config *cfg = NULL;
	ck_assert_int_eq(fangs_config_new(&cfg), 0);
	ck_assert_int_eq(cfg->builtin_cred_paths, 1);
	ck_assert_uint_eq(cfg->promote_after_clean_runs, 1);
	ck_assert_int_eq(cfg->review_threshold, FANGS_SEV_MEDIUM);
	ck_assert_uint_eq(cfg->retention_days, 90);
	ck_assert_str_eq(cfg->storage_backend, "sqlite");
	ck_assert_ptr_null(cfg->registry);
	ck_assert_int_eq(cfg->scan_import, 1);
	ck_assert_uint_eq(cfg->scan_import_timeout_s, 0);
	fangs_config_free(cfg);
	cfg = load("");
	ck_assert_uint_eq(cfg->retention_days, 90);
	ck_assert_int_eq(cfg->scan_import, 1);
	fangs_config_free(cfg);
}
END_TEST

START_TEST(test_scan_section)
{
	fangs_config *cfg = load("scan:\n  import: false\n  import_timeout_s: 5\n");
	ck_assert_int_eq(cfg->scan_import, 0);
	ck_assert_uint_eq(cfg->scan_import_timeout_s, 5);
	fangs_config_free(cfg);
	load_bad("scan:\n  import: sometimes\n", "test.yaml:2: scan.import: expected true or false");
	load_bad("scan:\n  import_timeout_s: 0\n", "test.yaml:2: scan.import_timeout_s");
	load_bad("scan:\n  imports: true\n", "test.yaml:2: imports: unknown key in scan");
}
END_TEST

START_TEST(test_full_file)
{
	fangs_config *cfg = load("watched_paths:\n"
				 "  - prefix: /opt/secrets/\n"
				 "    cred: true\n"
				 "  - prefix: ~/.config/app/\n"
				 "allow:\n"
				 "  paths: [/usr/share/zoneinfo/]\n"
				 "  cidrs: [10.0.0.0/8, '2001:db8::/32']\n"
				 "  snis: [registry.example]\n"
				 "  dns: [example.org]\n"
				 "  execs: [/usr/bin/git]\n"
				 "severity:\n"
				 "  proc_new_exec: high\n"
				 "  packages:\n"
				 "    left-pad: { net_new_dns: low }\n"
				 "differ:\n"
				 "  promote_after_clean_runs: 3\n"
				 "  review_threshold: high\n"
				 "  builtin_cred_paths: false\n"
				 "storage:\n"
				 "  backend: postgres\n"
				 "  postgres_dsn: host=127.0.0.1\n"
				 "  retention_days: 30\n"
				 "registry: https://registry.example/\n");
	ck_assert_uint_eq(cfg->n_watched_paths, 2);
	ck_assert_str_eq(cfg->watched_paths[0].prefix, "/opt/secrets/");
	ck_assert_int_eq(cfg->watched_paths[0].cred, 1);
	ck_assert_int_eq(cfg->watched_paths[1].cred, 0);
	ck_assert_uint_eq(cfg->allow.count, 6);
	ck_assert_int_eq(cfg->allow.items[1].kind, FANGS_ALLOW_CIDR);
	ck_assert_str_eq(cfg->allow.items[2].value, "2001:db8::/32");
	ck_assert_ptr_null(cfg->allow.items[0].package);
	ck_assert_uint_eq(cfg->n_severity, 2);
	ck_assert_str_eq(cfg->severity[0].kind, "proc_new_exec");
	ck_assert_int_eq(cfg->severity[0].severity, FANGS_SEV_HIGH);
	ck_assert_ptr_null(cfg->severity[0].package);
	ck_assert_str_eq(cfg->severity[1].package, "left-pad");
	ck_assert_int_eq(cfg->severity[1].severity, FANGS_SEV_LOW);
	ck_assert_uint_eq(cfg->promote_after_clean_runs, 3);
	ck_assert_int_eq(cfg->review_threshold, FANGS_SEV_HIGH);
	ck_assert_int_eq(cfg->builtin_cred_paths, 0);
	ck_assert_str_eq(cfg->storage_backend, "postgres");
	ck_assert_uint_eq(cfg->retention_days, 30);
	ck_assert_str_eq(cfg->registry, "https://registry.example/");
	fangs_config_free(cfg);
}
END_TEST

START_TEST(test_errors_name_line_and_key)
{
	load_bad("watched_paths:\n  - prefix: /a\n    cerd: true\n", "test.yaml:3: cerd: unknown key");
	load_bad("allow:\n  paths: [/a]\n  hosts: [x]\n", "test.yaml:3: hosts: unknown allow list");
	load_bad("allow:\n  cidrs:\n    - 10.0.0.0/99\n", "test.yaml:3: allow.cidrs");
	load_bad("allow:\n  paths: relative\n", "test.yaml:2: allow.paths: expected a list");
	load_bad("severity:\n  proc_new_exec: severe\n", "test.yaml:2: proc_new_exec: expected info");
	load_bad("differ:\n  promote_after_clean_runs: zero\n", "test.yaml:2: differ.promote_after_clean_runs");
	load_bad("differ:\n  promote_after_clean_runs: 0\n", "must be between 1");
	load_bad("differ:\n  builtin_cred_paths: maybe\n", "expected true or false");
	load_bad("differ:\n  review_threshold: severe\n", "test.yaml:2: differ.review_threshold: expected info");
	load_bad("storage:\n  backend: mysql\n", "test.yaml:2: storage.backend");
	load_bad("registry: ftp://x\n", "test.yaml:1: registry");
	load_bad("bogus: 1\n", "test.yaml:1: bogus: unknown key");
	load_bad("watched_paths:\n  - cred: true\n", "without a prefix");
	load_bad("watched_paths:\n  - prefix: relative/\n", "must be absolute");
	load_bad("a: [\n", "test.yaml:");
	load_bad("- 1\n- 2\n", "expected a mapping");
}
END_TEST

START_TEST(test_daemon_sections)
{
	fangs_config *cfg = NULL;
	ck_assert_int_eq(fangs_config_new(&cfg), 0);
	ck_assert_str_eq(cfg->orchestrator.listen, "127.0.0.1:8480");
	ck_assert_uint_eq(cfg->orchestrator.heartbeat_timeout_s, 90);
	ck_assert_uint_eq(cfg->orchestrator.watch_interval_s, 300);
	ck_assert_str_eq(cfg->orchestrator.registry_token_env, "FANGS_REGISTRY_TOKEN");
	ck_assert_uint_eq(cfg->runner.max_scans, 1);
	ck_assert_ptr_null(cfg->runner.orchestrator);
	fangs_config_free(cfg);

	cfg = load("orchestrator:\n"
		   "  listen: 0.0.0.0:9443\n"
		   "  tls_cert: /etc/fangs/orchestrator.pem\n"
		   "  tls_key: /etc/fangs/orchestrator-key.pem\n"
		   "  client_ca: /etc/fangs/ca.pem\n"
		   "  revoked: /etc/fangs/revoked.txt\n"
		   "  heartbeat_timeout_s: 30\n"
		   "  watch_interval_s: 60\n"
		   "  watch_concurrency: 8\n"
		   "  registry_token_env: NPM_TOKEN\n"
		   "  prune_interval_s: 600\n"
		   "  follow_url: https://replicate.example/registry\n"
		   "  follow_since: now\n"
		   "  follow_interval_s: 30\n"
		   "  follow_limit: 500\n"
		   "  follow_scopes: ['@corp', '@babel']\n"
		   "  follow_names: ['*-cli']\n"
		   "  follow_install_scripts: true\n"
		   "  follow_popular: /etc/fangs/popular.txt\n"
		   "runner:\n"
		   "  orchestrator: https://orch.example:9443\n"
		   "  id: runner-1\n"
		   "  max_scans: 3\n"
		   "  tls_cert: /etc/fangs/runner-1.pem\n"
		   "  tls_key: /etc/fangs/runner-1-key.pem\n"
		   "  ca: /etc/fangs/ca.pem\n"
		   "  sandbox: docker\n"
		   "  duration_s: 120\n");
	ck_assert_str_eq(cfg->orchestrator.listen, "0.0.0.0:9443");
	ck_assert_str_eq(cfg->orchestrator.client_ca, "/etc/fangs/ca.pem");
	ck_assert_str_eq(cfg->orchestrator.revoked, "/etc/fangs/revoked.txt");
	ck_assert_uint_eq(cfg->orchestrator.heartbeat_timeout_s, 30);
	ck_assert_uint_eq(cfg->orchestrator.watch_concurrency, 8);
	ck_assert_str_eq(cfg->orchestrator.registry_token_env, "NPM_TOKEN");
	ck_assert_uint_eq(cfg->orchestrator.prune_interval_s, 600);
	ck_assert_str_eq(cfg->orchestrator.follow_url, "https://replicate.example/registry");
	ck_assert_str_eq(cfg->orchestrator.follow_since, "now");
	ck_assert_uint_eq(cfg->orchestrator.follow_interval_s, 30);
	ck_assert_uint_eq(cfg->orchestrator.follow_limit, 500);
	ck_assert_uint_eq(cfg->orchestrator.n_follow_scopes, 2);
	ck_assert_str_eq(cfg->orchestrator.follow_scopes[1], "@babel");
	ck_assert_uint_eq(cfg->orchestrator.n_follow_names, 1);
	ck_assert_str_eq(cfg->orchestrator.follow_names[0], "*-cli");
	ck_assert_int_eq(cfg->orchestrator.follow_install_scripts, 1);
	ck_assert_str_eq(cfg->orchestrator.follow_popular, "/etc/fangs/popular.txt");
	ck_assert_str_eq(cfg->runner.orchestrator, "https://orch.example:9443");
	ck_assert_str_eq(cfg->runner.id, "runner-1");
	ck_assert_uint_eq(cfg->runner.max_scans, 3);
	ck_assert_str_eq(cfg->runner.ca, "/etc/fangs/ca.pem");
	ck_assert_str_eq(cfg->runner.sandbox, "docker");
	ck_assert_uint_eq(cfg->runner.duration_s, 120);
	fangs_config_free(cfg);

	load_bad("orchestrator:\n  listen_on: x\n", "test.yaml:2: listen_on: unknown key in orchestrator");
	load_bad("orchestrator:\n  heartbeat_timeout_s: 0\n", "test.yaml:2: orchestrator.heartbeat_timeout_s");
	load_bad("orchestrator:\n  follow_url: ftp://x\n", "orchestrator.follow_url: must be an http");
	load_bad("orchestrator:\n  follow_scopes: [corp]\n", "orchestrator.follow_scopes: a scope is @name");
	load_bad("runner:\n  max_scans: lots\n", "runner.max_scans: expected a whole number");
	load_bad("runner:\n  sandbox: chroot\n", "runner.sandbox: expected ns or docker");
	load_bad("runner: 5\n", "runner: expected a mapping");
}
END_TEST

START_TEST(test_proxy_section)
{
	fangs_config *cfg = load("proxy:\n"
				 "  allow_hosts: [dl.example.com, \"*.cdn.example.net\", \"127.0.0.1:*\"]\n"
				 "  builtin_hosts: false\n"
				 "  packages:\n"
				 "    sharp: [static.example.io]\n"
				 "    \"@scope/cli\": [\"files.example.org:8443\", dl2.example.com]\n");
	ck_assert_uint_eq(cfg->n_proxy_allow_hosts, 3);
	ck_assert_str_eq(cfg->proxy_allow_hosts[1], "*.cdn.example.net");
	ck_assert_int_eq(cfg->proxy_builtin_hosts, 0);
	ck_assert_uint_eq(cfg->n_proxy_packages, 2);
	ck_assert_str_eq(cfg->proxy_packages[0].package, "sharp");
	ck_assert_uint_eq(cfg->proxy_packages[0].n_hosts, 1);
	ck_assert_str_eq(cfg->proxy_packages[1].package, "@scope/cli");
	ck_assert_str_eq(cfg->proxy_packages[1].hosts[0], "files.example.org:8443");
	ck_assert_uint_eq(cfg->proxy_packages[1].n_hosts, 2);
	fangs_config_free(cfg);
	cfg = load("registry: https://r.example/\n");
	ck_assert_int_eq(cfg->proxy_builtin_hosts, 1);
	ck_assert_uint_eq(cfg->n_proxy_allow_hosts, 0);
	fangs_config_free(cfg);
	load_bad("proxy:\n  allow_hosts:\n    - \"bad host\"\n", "test.yaml:3: proxy.allow_hosts: host pattern");
	load_bad("proxy:\n  packages:\n    x: [\"a.example:99999\"]\n", "proxy.packages.x");
	load_bad("proxy:\n  hosts: [a]\n", "test.yaml:2: hosts: unknown key in proxy");
}
END_TEST

START_TEST(test_missing_file)
{
	fangs_config *cfg = NULL;
	ck_assert_int_eq(fangs_config_load(&cfg, "/nonexistent/fangs.yaml"), FANGS_ECONFIG);
	ck_assert_ptr_nonnull(strstr(fangs_error_last(), "/nonexistent/fangs.yaml"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("yaml");
	SRunner *sr;
	int failed;
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_scan_section);
	tcase_add_test(tc, test_full_file);
	tcase_add_test(tc, test_errors_name_line_and_key);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_daemon_sections);
	tcase_add_test(tc, test_proxy_section);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
