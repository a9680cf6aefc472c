"""examples/ci as their CI would run them: the commands of the GitHub
Actions workflow and of the GitLab CI job, taken from the YAML, run here on
a fixture project (a git repository whose pull request bumps palette
1.0.0 -> 1.1.0, a release whose install script reads ~/.npmrc), offline
against the fake registry, with fangs installed from this build (meson
install). The reports the jobs hand to GitHub (upload-sarif) and GitLab
(artifacts:reports:dependency_scanning) must validate against the vendored
schemas and name the finding.

Where `fangs review` is not in this build, the review command is run as
`fangs scan` of the project (the same options, report and exit status):
the test says so on stderr."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import jsonschema
import yaml

FANGS = os.environ.get("FANGS_CLI", "fangs")
ROOT = os.path.abspath(os.environ["FANGS_SOURCE_ROOT"])
BUILD = os.path.abspath(os.environ["FANGS_BUILD_ROOT"])
SCHEMAS = os.path.join(ROOT, "tests", "ci", "schemas")
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "registry"))
from fake_registry import FakeRegistry  # noqa: E402


def validator(name):
    with open(os.path.join(SCHEMAS, name)) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=ci", "-c", "user.email=ci@example.invalid", "-c",
                    "init.defaultBranch=main"] + list(args), cwd=cwd, check=True, capture_output=True)


def project_files(palette):
    manifest = {"name": "ci-app", "version": "1.0.0", "license": "MIT", "private": True,
                "dependencies": {"palette": palette}}
    lock = {"name": "ci-app", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
            "packages": {"": {"name": "ci-app", "version": "1.0.0", "license": "MIT",
                              "dependencies": {"palette": palette}},
                         "node_modules/palette": {"version": palette, "hasInstallScript": True,
                                                  "license": "MIT"}}}
    return json.dumps(manifest, indent=2) + "\n", json.dumps(lock, indent=2) + "\n"


def has_review():
    p = subprocess.run([FANGS, "review", "--help"], capture_output=True)
    return p.returncode == 0


class Examples(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise RuntimeError("fangs scan needs root (cgroups, namespaces, eBPF)")
        cls.tmp = tempfile.TemporaryDirectory(prefix="fangs-ci-")
        cls.registry = FakeRegistry().start()
        # fangs as the jobs install it: meson install of this build
        inst = os.path.join(cls.tmp.name, "inst")
        p = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--quiet", "--destdir", inst],
                           capture_output=True, text=True)
        if p.returncode:
            raise RuntimeError("meson install: " + p.stdout + p.stderr)
        fangs = [os.path.join(d, "fangs") for d, _, files in os.walk(inst) if "fangs" in files and
                 os.path.basename(d) == "bin"]
        libs = sorted({d for d, _, files in os.walk(inst) if any(f.startswith("libfangs.so") for f in files)})
        assert len(fangs) == 1 and libs, (fangs, libs)
        cls.bin = os.path.dirname(fangs[0])
        cls.libs = ":".join(libs)
        # the repository: main pins palette 1.0.0, the pull request bumps it to 1.1.0
        origin = os.path.join(cls.tmp.name, "origin.git")
        seed = os.path.join(cls.tmp.name, "seed")
        os.makedirs(seed)
        git(cls.tmp.name, "init", "-q", "--bare", origin)
        git(seed, "init", "-q")
        for palette, msg in (("1.0.0", "app"), ):
            m, l = project_files(palette)
            with open(os.path.join(seed, "package.json"), "w") as f:
                f.write(m)
            with open(os.path.join(seed, "package-lock.json"), "w") as f:
                f.write(l)
            git(seed, "add", "-A")
            git(seed, "commit", "-q", "-m", msg)
        git(seed, "push", "-q", origin, "main")
        git(seed, "checkout", "-q", "-b", "bump")
        m, l = project_files("1.1.0")
        with open(os.path.join(seed, "package.json"), "w") as f:
            f.write(m)
        with open(os.path.join(seed, "package-lock.json"), "w") as f:
            f.write(l)
        git(seed, "commit", "-q", "-am", "bump palette")
        git(seed, "push", "-q", origin, "bump")
        cls.origin = origin
        cls.review = has_review()
        if not cls.review:
            sys.stderr.write("note: this fangs has no `review`: the jobs' review commands run as `fangs scan` "
                             "of the project\n")

    @classmethod
    def tearDownClass(cls):
        cls.registry.stop()
        cls.tmp.cleanup()

    def checkout(self, name):
        """The pull request's head, as the CI checks it out (with the base branch)."""
        work = os.path.join(self.tmp.name, name)
        git(self.tmp.name, "clone", "-q", "--branch", "bump", self.origin, work)
        return work

    def adapt(self, cmd):
        """The command as this build can run it."""
        self.assertNotIn("${{", cmd)
        if self.review or not re.search(r"\bfangs\b.*\breview\b", cmd):
            return cmd
        # fangs [global options] review --base BASE [options] DIR -> fangs ... scan --quiet [options] ./DIR
        m = re.fullmatch(r'(.*\bfangs\b.*?)\breview --base ("[^"]*"|\S+) (.*) (\S+)', cmd.strip())
        self.assertTrue(m, "unexpected review command: " + cmd)
        d = m.group(4)
        return '%sscan --quiet %s %s' % (m.group(1), m.group(3), d if d.startswith(("/", "./")) else "./" + d)

    def run_script(self, cwd, env, script, code=0):
        # the jobs run as root here: sudo is the command itself
        p = subprocess.run(["bash", "-c", 'sudo() { "$@"; }\nset -eo pipefail\n' + script], cwd=cwd, env=env,
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, code, "%s\n-> %d\nstdout: %s\nstderr: %s" % (script, p.returncode,
                                                                                  p.stdout[-3000:], p.stderr[-3000:]))
        return p

    def base_env(self):
        env = dict(os.environ)
        env.pop("DOCKER_HOST", None)
        env["PATH"] = self.bin + ":" + env["PATH"]
        env["LD_LIBRARY_PATH"] = self.libs
        # the project's registry, as npm's configuration gives it
        env["npm_config_registry"] = self.registry.url
        return env

    def test_github_actions(self):
        with open(os.path.join(ROOT, "examples", "ci", "github-actions.yml")) as f:
            wf = yaml.safe_load(f)
        self.assertIn("pull_request", wf[True] if True in wf else wf["on"])  # YAML 1.1 reads `on` as true
        self.assertEqual(wf["permissions"]["security-events"], "write")
        work = self.checkout("gh")
        values = {"github.workspace": work, "github.base_ref": "main", "github.run_id": "1"}

        def expand(s):
            def one(m):
                self.assertIn(m.group(1), values, "unknown expression in the workflow: " + m.group(0))
                return values[m.group(1)]
            return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", one, str(s))

        env = self.base_env()
        for k, v in wf["env"].items():
            env[k] = expand(v)
        steps = wf["jobs"]["review"]["steps"]
        ran, uploaded = 0, None
        for step in steps:
            if "run" in step:
                script = step["run"]
                if "scripts/setup" in script:
                    # installing fangs: done above by the same meson install
                    self.assertIn("meson install", script)
                    continue
                lines = [self.adapt(expand(l)) for l in script.strip().splitlines()]
                # the review exits 3: palette 1.1.0 reads ~/.npmrc (critical); the step fails the check
                self.run_script(work, env, "\n".join(lines), code=3 if any("fangs" in l for l in lines) else 0)
                ran += 1
            elif step.get("uses", "").startswith("github/codeql-action/upload-sarif"):
                self.assertEqual(step.get("if"), "always()")
                uploaded = expand(step["with"]["sarif_file"])
        self.assertEqual(ran, 1)
        self.assertEqual(uploaded, env["FANGS_REPORT"])
        with open(os.path.join(work, uploaded)) as f:
            doc = json.load(f)
        self.assertEqual([e.message for e in validator("sarif-schema-2.1.0.json").iter_errors(doc)], [])
        results = doc["runs"][0]["results"]
        self.assertTrue(any(r["level"] == "error" and "~/.npmrc" in r["message"]["text"] for r in results),
                        results)
        for r in results:
            uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            self.assertIn(uri, ("package.json", "package-lock.json"))  # relative to the checkout
        # the database the cache step keeps between runs now holds palette's history
        self.assertTrue(os.path.exists(env["FANGS_DB"]))

    def test_gitlab_ci(self):
        with open(os.path.join(ROOT, "examples", "ci", "gitlab-ci.yml")) as f:
            job = yaml.safe_load(f)["fangs-review"]
        self.assertIn('$CI_PIPELINE_SOURCE == "merge_request_event"', [r["if"] for r in job["rules"]])
        work = self.checkout("gl")
        env = self.base_env()
        env.update({"CI_PROJECT_DIR": work, "CI_BUILDS_DIR": self.tmp.name,
                    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main", "CI_PIPELINE_SOURCE": "merge_request_event"})
        # GitLab expands $VARS in variables; the job's shell does the rest
        exports = "".join('export %s="%s"\n' % (k, v) for k, v in job["variables"].items())
        install = "\n".join(job["before_script"])
        self.assertIn("scripts/setup", install)  # installing fangs: done above by the same meson install
        self.assertIn("meson install", install)
        script = exports + "\n".join(self.adapt(l) for l in job["script"])
        self.run_script(work, env, script, code=3)
        report = job["artifacts"]["reports"]["dependency_scanning"]
        self.assertEqual(job["artifacts"]["when"], "always")
        with open(os.path.join(work, report)) as f:
            doc = json.load(f)
        v = validator("gitlab-dependency-scanning-report-format-14.0.3.json")
        self.assertEqual([e.message for e in v.iter_errors(doc)], [])
        self.assertTrue(any(x["severity"] == "Critical" and "~/.npmrc" in x["message"]
                            for x in doc["vulnerabilities"]), doc["vulnerabilities"])
        self.assertIn(doc["dependency_files"][0]["path"], ("package-lock.json", "npm-shrinkwrap.json"))
        self.assertTrue(os.path.exists(os.path.join(work, ".fangs", "fangs.db")))  # what the cache keeps


if __name__ == "__main__":
    unittest.main(verbosity=2)
