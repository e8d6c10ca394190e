#!/usr/bin/python3
"""The built site in a real browser: Debian's headless Chromium, driven over
the DevTools protocol (--remote-debugging-pipe, so no network port), checks
every page of build/docs/html:

- it loads with no console error, no uncaught exception, no failed resource
  and no request leaving the site (everything offline);
- every internal link leads to a page or file of the site, and every #anchor
  to an element of that page;
- every image (SVG included) and frame loads;
- the search page finds `matmul`, `cross_entropy` and `explain`;
- the navigation lists every Markdown page of docs/;
- tutorial 1's program, as the page shows it, is the file ctest compiles and
  runs (build/docs/01-tensors-and-the-tape.cpp, made by docs/extract.cpp).
Screenshots of a few pages go to OUT for a person to look at.

Usage: check_site.py --html build/docs/html --source REPO --build build [--out DIR]
Exit 0 when everything holds, 1 otherwise (each problem on its own line).
"""
import argparse
import concurrent.futures
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pages  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-pipe",
         "--window-size=1280,1000", "--hide-scrollbars"]


SPAWNING = threading.Lock()


class Browser:
    """One Chromium, one tab, commands over fds 3 (to it) and 4 (from it)."""

    def __init__(self, profile):
        # One browser starts at a time: the child takes fds 3 and 4, which must
        # be open (and ours) while it forks, not closed by another one starting.
        with SPAWNING:
            to_child_r, self.to_child = os.pipe()
            self.from_child, from_child_w = os.pipe()

            def plumb():
                # Above 4 first, so that neither dup2 overwrites the other's source.
                reading = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
                writing = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
                os.dup2(reading, 3)
                os.dup2(writing, 4)

            self.process = subprocess.Popen(["chromium", *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                            pass_fds=(3, 4), preexec_fn=plumb, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
            os.close(to_child_r)
            os.close(from_child_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)

    def send(self, method, session, params):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self.to_child, json.dumps(message).encode() + b"\0")
        return self.next_id

    def receive(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_child], [], [], left)[0]:
                return None
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium exited")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, session=False, timeout=30, **params):
        wanted = self.send(method, session, params)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.receive(deadline - time.monotonic())
            if message is None:
                break
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)
        raise RuntimeError(f"{method}: no answer in {timeout} s")

    def wait_for(self, event, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            for i, message in enumerate(self.events):
                if message.get("method") == event:
                    del self.events[i]
                    return True
            message = self.receive(deadline - time.monotonic())
            if message is None:
                return False
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluating in the page: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url):
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        loaded = self.wait_for("Page.loadEventFired")
        # Scripts that run after load (the search, the theme) get a moment.
        end = time.monotonic() + 0.3
        while time.monotonic() < end:
            message = self.receive(end - time.monotonic())
            if message and "method" in message:
                self.events.append(message)
        return loaded

    def problems(self, root):
        """Console errors, exceptions, failed or outside requests since open()."""
        found = []
        for message in self.events:
            method, params = message.get("method"), message.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                found.append(f"console error: {text}")
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(f"uncaught exception: {details.get('exception', {}).get('description', details)}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(f"console error: {params['entry'].get('text')} {params['entry'].get('url', '')}")
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                found.append(f"failed to load: {params.get('errorText')}")
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if not (url.startswith(root) or url.startswith("data:") or url == "about:blank"):
                    found.append(f"a request leaves the site: {url}")
        return found

    def screenshot(self, path):
        import base64
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except RuntimeError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


INSPECT = """(() => {
  const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id)
      .concat([...document.querySelectorAll('a[name]')].map(e => e.name));
  const images = [...document.images].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0}));
  const objects = [...document.querySelectorAll('object[data], embed[src]')].map(o => o.data || o.src);
  const frames = [...document.querySelectorAll('iframe')].map(f => {
      let doc = null; try { doc = f.contentDocument; } catch (e) {}
      return {src: f.src, ok: !!(doc && doc.body && doc.body.children.length)}; });
  const nav = [...document.querySelectorAll('.sphinxsidebar a.reference.internal')].map(a => a.href);
  const title = document.title;
  return {links, ids, images, objects, frames, nav, title};
})()"""


def serve(html):
    """An HTTP server of the built site on a free loopback port, in a thread."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/favicon.ico":  # asked by the browser itself; the site has none
                self.send_response(204)
                self.end_headers()
                return
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def local_path(url, html):
    return Path(unquote(urlparse(url).path))


# Browsers open pages side by side: most of a page's time is the wait for its
# scripts, so on two cores three of them check the site in about two thirds of
# one browser's time.
BROWSERS = 3


def inspect_pages(every, html, root, out):
    """Opens each page of `every` in one browser of its own; returns its
    problems and each page's ids, links and (for index.html) navigation."""
    problems, ids_of, links_of, nav = [], {}, {}, []
    with tempfile.TemporaryDirectory(prefix="rg-site-profile-") as profile:
        browser = Browser(profile)
        try:
            for page in every:
                name = page.relative_to(html).as_posix()
                if not browser.open(page.as_uri()):
                    problems.append(f"{name}: did not finish loading")
                    continue
                seen = browser.evaluate(INSPECT)
                problems += [f"{name}: {p}" for p in browser.problems(root)]
                ids_of[page] = set(seen["ids"])
                links_of[page] = seen["links"]
                if name == "index.html":
                    nav = seen["nav"]
                for image in seen["images"]:
                    if not image["ok"]:
                        problems.append(f"{name}: the image {image['src']} did not load")
                for frame in seen["frames"]:
                    # file:// pages are separate origins, so the frame's own
                    # document is out of reach here; it is a page of the site,
                    # loaded and checked as every other.
                    if not local_path(frame["src"], html).is_file():
                        problems.append(f"{name}: the frame {frame['src']} does not exist")
                for obj in seen["objects"]:
                    if not local_path(obj, html).is_file():
                        problems.append(f"{name}: the object {obj} does not exist")
                if name in ("index.html", "tutorials/01-tensors-and-the-tape.html", "api/nn-trainer.html",
                            "built/training-chart.html", "built/explain.html", "autodiff.html"):
                    browser.screenshot(out / (name.replace("/", "-").removesuffix(".html") + ".png"))
        finally:
            browser.close()
    return problems, ids_of, links_of, nav


def search_and_tutorial(html, out):
    """The search page, as a reader types in the box, and tutorial 1's program
    as its page shows it; returns the problems and that program."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="rg-site-profile-") as profile:
        browser = Browser(profile)
        try:
            # Served over loopback HTTP: Sphinx's search fetches the pages it
            # finds for their summaries, which a browser refuses across file://
            # origins.
            server = serve(html)
            root = f"http://127.0.0.1:{server.server_address[1]}/"
            for word in ("matmul", "cross_entropy", "explain"):
                browser.open(root + f"search.html?q={word}")
                found = 0
                for _ in range(50):
                    found = browser.evaluate("document.querySelectorAll('#search-results ul.search li').length")
                    if found:
                        break
                    time.sleep(0.1)
                problems += [f"search.html?q={word}: {p}" for p in browser.problems(root)]
                if not found:
                    problems.append(f"search.html: searching '{word}' finds nothing")
                elif word == "matmul":
                    browser.screenshot(out / "search-matmul.png")
                print(f"check_site: search '{word}': {found} pages")
            server.shutdown()

            tutorial = html / "tutorials" / "01-tensors-and-the-tape.html"
            browser.open(tutorial.as_uri())
            shown = browser.evaluate("[...document.querySelectorAll('div.rg-program pre')]"
                                     ".map(p => p.textContent).join('')")
        finally:
            browser.close()
    return problems, shown


def check(html, source, build, out):
    root = html.as_uri() + "/"
    every = sorted(p for p in html.rglob("*.html") if "_static" not in p.parts)
    with concurrent.futures.ThreadPoolExecutor(max_workers=BROWSERS) as pool:
        slices = [pool.submit(inspect_pages, every[i::BROWSERS], html, root, out) for i in range(BROWSERS)]
        searched = pool.submit(search_and_tutorial, html, out)
        problems, ids_of, links_of, nav = [], {}, {}, []
        for part in slices:
            found, ids, links, index_nav = part.result()
            problems += found
            ids_of.update(ids)
            links_of.update(links)
            nav = nav or index_nav
        found, shown = searched.result()
        problems += found

    # Links and anchors, now that every page's ids are known.
    for page, links in links_of.items():
        name = page.relative_to(html).as_posix()
        for link in links:
            if not link.startswith("file://"):
                continue  # links to other sites are fine to show, never loaded here
            target, fragment = urldefrag(link)
            path = local_path(target, html)
            if not str(path).startswith(str(html)):
                problems.append(f"{name}: a link leaves the site: {link}")
            elif not path.exists():
                problems.append(f"{name}: a link leads nowhere: {path.relative_to(html)}")
            elif fragment and path.suffix == ".html" and fragment not in ids_of.get(path, set()):
                problems.append(f"{name}: no #{unquote(fragment)} in {path.relative_to(html)}")

    # The navigation holds every page.
    in_nav = {local_path(u, html).relative_to(html).as_posix() for u in nav if u.startswith("file://")}
    for md in pages.markdown_pages(source):
        page = md.removesuffix(".md") + ".html"
        if page != "index.html" and page not in in_nav:
            problems.append(f"index.html: the navigation does not list {page}")

    extracted = build / "docs" / "01-tensors-and-the-tape.cpp"
    if not extracted.is_file():
        problems.append(f"{extracted} is missing (build the tutorials first)")
    else:
        program = "".join(l for l in extracted.read_text().splitlines(keepends=True) if not l.startswith("#line "))
        if shown.strip() != program.strip():
            problems.append("tutorials/01-tensors-and-the-tape.html: the program shown differs from the one "
                            f"ctest runs ({extracted})")
    print(f"check_site: {len(every)} pages, {sum(len(v) for v in links_of.values())} links, "
          f"{len(nav)} navigation entries; screenshots in {out}")
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--html", required=True, type=Path)
    parser.add_argument("--source", required=True, type=Path)
    parser.add_argument("--build", required=True, type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    html = args.html.resolve()
    if not (html / "index.html").is_file():
        print(f"check_site: no site in {html}: run make docs first", file=sys.stderr)
        return 1
    if not shutil.which("chromium"):
        print("check_site: chromium is missing (bash .ci/install-deps docs)", file=sys.stderr)
        return 1
    out = (args.out or html.parent / "browser").resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    problems = check(html, args.source.resolve(), args.build.resolve(), out)
    for problem in problems:
        print(f"check_site: {problem}")
    print(f"check_site: {'FAILED' if problems else 'ok'} in {time.monotonic() - started:.0f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
