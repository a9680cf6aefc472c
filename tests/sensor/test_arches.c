/*
 * tests/sensor/test_arches.c - the sensor's BPF object builds for every
 * architecture that has a vmlinux.h in the tree (bpf/vmlinux/<arch>/):
 * compiled as the build does (clang -target bpf -D__TARGET_ARCH_<arch>
 * with that architecture's system call numbers, bpftool gen object), then
 * opened by libbpf without loading. The object must carry the same programs
 * and maps as the one the build made for this machine, the pt_regs of its
 * architecture, and that architecture's system call numbers. Only the
 * build machine's object is ever loaded (the sensor suites); the others are
 * compile-checked here.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define MAX_ARCHES 8

static char src_root[4096], build_root[4096];
static char arches[MAX_ARCHES][32];
static int n_arches;

/* What each architecture's system call numbers and registers must be: a
 * number from another architecture's table (x86's open is 2, arm64 and
 * riscv have no open) fails here. */
static const struct anchor {
	const char *arch;
	const char *regs_member; /* a member of its struct pt_regs */
	int openat, open, connect, bpf, clone3;
} anchors[] = {
	{"x86", "orig_ax", 257, 2, 42, 321, 435},
	{"arm64", "syscallno", 56, -1, 203, 280, 435},
	{"riscv", "a7", 56, -1, 203, 280, 435},
};

static const struct anchor *anchor_of(const char *arch)
{
	for (size_t i = 0; i < sizeof(anchors) / sizeof(anchors[0]); i++)
		if (strcmp(anchors[i].arch, arch) == 0)
			return &anchors[i];
	return NULL;
}

/* Runs argv with stdout and stderr into log; its exit status or -1. */
static int run(char *const argv[], const char *log)
{
	int status, fd;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void print_file(const char *path)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(f);
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_line(char ***lines, size_t *n, size_t *cap, size_t *len, char *line)
{
	ck_assert_ptr_nonnull(line);
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*lines = realloc(*lines, *cap * sizeof(**lines));
		ck_assert_ptr_nonnull(*lines);
	}
	(*lines)[(*n)++] = line;
	*len += strlen(line);
}

/* The programs ("prog NAME SECTION") and maps ("map NAME") of an object
 * opened without loading, sorted, one a line; NULL if it does not open. */
static char *object_listing(const char *path, struct bpf_object **objp)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *prog;
	struct bpf_map *map;
	char **lines = NULL, *out, *line;
	size_t n = 0, len = 1, cap = 0;

	*objp = NULL;
	if (!obj || libbpf_get_error(obj))
		return NULL;
	bpf_object__for_each_program(prog, obj)
	{
		if (asprintf(&line, "prog %s %s\n", bpf_program__name(prog), bpf_program__section_name(prog)) < 0)
			line = NULL;
		add_line(&lines, &n, &cap, &len, line);
	}
	bpf_object__for_each_map(map, obj)
	{
		if (asprintf(&line, "map %s\n", bpf_map__name(map)) < 0)
			line = NULL;
		add_line(&lines, &n, &cap, &len, line);
	}
	if (n)
		qsort(lines, n, sizeof(*lines), cmp_line);
	out = calloc(1, len);
	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i < n; i++) {
		strcat(out, lines[i]);
		free(lines[i]);
	}
	free(lines);
	*objp = obj;
	return out;
}

/* The value of "#define NAME VALUE" in a configured header, or -1000. */
static int header_define(const char *path, const char *name)
{
	char line[256], key[128];
	int value, found = -1000;
	FILE *f = fopen(path, "r");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "#define %127s %d", key, &value) == 2 && strcmp(key, name) == 0)
			found = value;
	fclose(f);
	return found;
}

static int struct_has_member(const struct btf *btf, const char *type, const char *member)
{
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	const struct btf_type *t;
	const struct btf_member *m;

	if (id < 0)
		return 0;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (strcmp(btf__name_by_offset(btf, m->name_off), member) == 0)
			return 1;
	return 0;
}

START_TEST(test_arch)
{
	const char *arch = arches[_i];
	const struct anchor *a = anchor_of(arch);
	char dir[4200], table[4200], nr_h[4300], unstripped[4300], object[4300], log[4300], reference[4200];
	char vmlinux_inc[4200], bpf_inc[4200], source[4200], def_arch[64], inc_nr[4300];
	struct bpf_object *obj, *ref_obj;
	char *listing, *ref_listing;

	ck_assert_msg(a != NULL, "bpf/vmlinux/%s: tests/sensor/test_arches.c has no registers or numbers for %s", arch,
		      arch);
	/* the work files stay in the build tree (read them when this fails) */
	snprintf(dir, sizeof(dir), "%s/tests/sensor/arches", build_root);
	ck_assert_msg(mkdir(dir, 0755) == 0 || errno == EEXIST, "%s: %s", dir, strerror(errno));
	snprintf(dir, sizeof(dir), "%s/tests/sensor/arches/%s", build_root, arch);
	ck_assert_msg(mkdir(dir, 0755) == 0 || errno == EEXIST, "%s: %s", dir, strerror(errno));
	snprintf(nr_h, sizeof(nr_h), "%s/syscall_nr.h", dir);
	snprintf(unstripped, sizeof(unstripped), "%s/unstripped.o", dir);
	snprintf(object, sizeof(object), "%s/sensor.bpf.o", dir);
	snprintf(log, sizeof(log), "%s/log", dir);

	/* the numbers meson wrote for this architecture, from its table */
	snprintf(table, sizeof(table), "%s/bpf/syscall_nr.%s.h", build_root, arch);
	ck_assert_msg(access(table, R_OK) == 0, "%s: missing (no bpf/vmlinux/%s/syscalls?)", table, arch);
	ck_assert_int_eq(header_define(table, "FS_NR_openat"), a->openat);
	ck_assert_int_eq(header_define(table, "FS_NR_open"), a->open);
	ck_assert_int_eq(header_define(table, "FS_NR_connect"), a->connect);
	ck_assert_int_eq(header_define(table, "FS_NR_bpf"), a->bpf);
	ck_assert_int_eq(header_define(table, "FS_NR_clone3"), a->clone3);
	ck_assert_msg(unlink(nr_h) == 0 || errno == ENOENT, "%s: %s", nr_h, strerror(errno));
	unlink(unstripped);
	unlink(object);
	ck_assert_int_eq(symlink(table, nr_h), 0);

	/* compiled as bpf/meson.build does, this architecture's syscall_nr.h only */
	snprintf(def_arch, sizeof(def_arch), "-D__TARGET_ARCH_%s", arch);
	snprintf(vmlinux_inc, sizeof(vmlinux_inc), "-I%s/bpf/vmlinux/%s", src_root, arch);
	snprintf(inc_nr, sizeof(inc_nr), "-I%s", dir);
	snprintf(bpf_inc, sizeof(bpf_inc), "-I%s/bpf", src_root);
	snprintf(source, sizeof(source), "%s/bpf/sensor.bpf.c", src_root);
	{
		char *const cc[] = {CLANG,       "-g",   "-O2",   "-Wall", "-Werror", "-target", "bpf",      def_arch,
				    vmlinux_inc, inc_nr, bpf_inc, "-c",    source,    "-o",      unstripped, NULL};
		char *const gen[] = {BPFTOOL, "gen", "object", object, unstripped, NULL};
		if (run(cc, log) != 0) {
			print_file(log);
			ck_abort_msg("%s: clang failed for %s", source, arch);
		}
		if (run(gen, log) != 0) {
			print_file(log);
			ck_abort_msg("bpftool gen object failed for %s", arch);
		}
	}

	/* opened (not loaded): the programs and maps of the build's object */
	snprintf(reference, sizeof(reference), "%s/bpf/sensor.bpf.o", build_root);
	listing = object_listing(object, &obj);
	ck_assert_msg(listing != NULL, "%s: libbpf cannot open the %s object", object, arch);
	ref_listing = object_listing(reference, &ref_obj);
	ck_assert_msg(ref_listing != NULL, "%s: libbpf cannot open the build's object", reference);
	ck_assert_ptr_nonnull(strstr(ref_listing, "prog raw_sys_enter raw_tp/sys_enter\n"));
	ck_assert_ptr_nonnull(strstr(ref_listing, "prog rt_openat raw_tp\n"));
	ck_assert_str_eq(listing, ref_listing);
	/* its registers are its architecture's */
	ck_assert_msg(struct_has_member(bpf_object__btf(obj), "pt_regs", a->regs_member),
		      "the %s object's struct pt_regs has no %s", arch, a->regs_member);
	for (size_t i = 0; i < sizeof(anchors) / sizeof(anchors[0]); i++)
		if (&anchors[i] != a)
			ck_assert_msg(!struct_has_member(bpf_object__btf(obj), "pt_regs", anchors[i].regs_member),
				      "the %s object's struct pt_regs has %s's %s", arch, anchors[i].arch,
				      anchors[i].regs_member);
	free(listing);
	free(ref_listing);
	bpf_object__close(obj);
	bpf_object__close(ref_obj);
}
END_TEST

/* the architecture the build targets is among them */
START_TEST(test_target_among)
{
	int found = 0;

	for (int i = 0; i < n_arches; i++)
		found |= strcmp(arches[i], BPF_ARCH) == 0;
	ck_assert_msg(found, "no bpf/vmlinux/%s/vmlinux.h", BPF_ARCH);
}
END_TEST

static void find_arches(void)
{
	char path[4200], vmlinux[4300];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/bpf/vmlinux", src_root);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)) && n_arches < MAX_ARCHES) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(arches[0]))
			continue;
		if (snprintf(vmlinux, sizeof(vmlinux), "%s/%s/vmlinux.h", path, de->d_name) >= (int)sizeof(vmlinux))
			continue;
		if (access(vmlinux, F_OK) == 0 &&
		    snprintf(arches[n_arches], sizeof(arches[0]), "%s", de->d_name) < (int)sizeof(arches[0]))
			n_arches++;
	}
	closedir(d);
}

int main(void)
{
	const char *s = getenv("FANGS_SOURCE_ROOT"), *b = getenv("FANGS_BUILD_ROOT");
	Suite *suite = suite_create("sensor-arches");
	TCase *tc = tcase_create("arches");
	SRunner *sr;
	int failed;

	if (!s || !b) {
		fprintf(stderr, "FANGS_SOURCE_ROOT and FANGS_BUILD_ROOT must be set\n");
		return 1;
	}
	snprintf(src_root, sizeof(src_root), "%s", s);
	snprintf(build_root, sizeof(build_root), "%s", b);
	find_arches();
	for (int i = 0; i < n_arches; i++)
		fprintf(stderr, "architecture in the tree: %s\n", arches[i]);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_target_among);
	tcase_add_loop_test(tc, test_arch, 0, n_arches);
	suite_add_tcase(suite, tc);
	sr = srunner_create(suite);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
