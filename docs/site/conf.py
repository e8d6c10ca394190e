# Sphinx configuration of the documentation site (`make docs`). build.py lays
# out the sources in the build directory (the Markdown pages of docs/ as they
# are, plus the generated API reference, explain page and chart) and runs
# /usr/bin/sphinx-build with this directory as its configuration (-c).
import os

project = "retrograd"
author = "the retrograd authors"
copyright = "retrograd authors"
release = os.environ.get("RG_VERSION", "")

extensions = ["myst_parser", "breathe"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]

# Markdown as GitHub renders it: heading anchors (autodiff.md#ops), tables,
# $...$ left alone (the pages write formulas as code or plain text).
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence", "deflist"]

breathe_projects = {"retrograd": os.environ["RG_DOXYGEN_XML"]}
breathe_default_project = "retrograd"
breathe_default_members = ("members",)
primary_domain = "cpp"
highlight_language = "text"  # a fence without a language is plain text

# Broken cross-references are errors (build.py passes -W): every C++ name the
# reference mentions must resolve, except the standard library's and the
# third-party types that appear in signatures, which have no pages here.
nitpicky = True
nitpick_ignore_regex = [
    (r"cpp:.*", r"(std|xt|fmt|nlohmann)(::.*)?"),
    (r"cpp:.*", r"(size_t|int64_t|uint64_t|int32_t|uint8_t|ptrdiff_t)"),
    # Internal types that appear in a few public signatures (rg::detail,
    # TensorImpl), and C++20 concepts, which Breathe 4.34 does not declare.
    (r"cpp:.*", r"(rg::)?(detail|TensorImpl|Reducer|dist::Reducer|nn::ModuleLike|ModuleLike|WrappableModule)(::.*)?"),
    # Template parameters and concept-constrained names (a Sphinx 5 limitation).
    (r"cpp:.*", r"[A-Z][A-Za-z]?"),
]

# Sphinx's own theme: Debian's furo package expects its scripts and
# normalize.css from a web server's /javascript/ and breaks offline.
html_theme = "alabaster"
html_title = "retrograd"
html_static_path = []
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
# Everything offline: no fonts or scripts from elsewhere (the site is checked
# in a browser without network).
html_theme_options = {"fixed_sidebar": True, "page_width": "1200px", "sidebar_width": "260px"}
html_sidebars = {"**": ["globaltoc.html", "searchbox.html"]}
