"""A student's first minutes, in a real browser: JupyterLab as ``course.py lab`` starts it.

Every student notebook is opened and run cell by cell to the end (JupyterLab's Run All stops at
the first error, and unanswered exercises raise one); the only errors may be those of unanswered
exercises, every figure must render, the interactive explorers must answer their controls.  A
solved notebook must pass nbgrader's Validate button, and the Assignment List must show the
lessons.  See conftest.py for the set-up and the artifacts saved on failure.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

KERNEL_DISPLAY_NAME = "Python 3 (convcourse)"
ZH_KERNEL_DISPLAY_NAME = "Python 3 (convcourse, 中文)"
# Every English notebook; of the Chinese edition (the same code cells, by construction:
# tests/course/test_course_editions.py) the index and one lesson, to show that its own kernel
# starts without a question and speaks Chinese.
ZH_IN_BROWSER = (
    "notebooks/zh/00_index.ipynb",
    "notebooks/zh/01_dense_to_conv/01_dense_to_conv.ipynb",
)
STUDENT_NOTEBOOKS = sorted(
    str(p.relative_to(REPO))
    for p in (REPO / "notebooks").glob("**/*.ipynb")
    if ".ipynb_checkpoints" not in p.parts and p.relative_to(REPO / "notebooks").parts[0] != "zh"
) + list(ZH_IN_BROWSER)
SOLVED_LESSON = "01_dense_to_conv"  # Validate runs the whole notebook on the server: one is enough
LESSONS = sorted(
    p.name for p in (REPO / "notebooks").iterdir() if (p / f"{p.name}.ipynb").is_file()
)
RUN_TIMEOUT_MS = 180_000

# Visible prompt of each code cell: "[ ]:" never run, "[*]:" queued or running, "[12]:" done.
# Whether a cell is empty is read from the notebook file, not the page: JupyterLab creates a
# cell's editor only when the cell first scrolls into view, so a cell far down the page has no
# editor text yet and would pass for empty.
CELL_PROMPTS = """() => Array.from(document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell')).map(cell =>
        (cell.querySelector('.jp-InputArea-prompt')?.textContent || '').trim())"""

IDLE = """() => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    if (!panel) return false;
    const prompts = Array.from(panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt'));
    const status = Array.from(document.querySelectorAll('.jp-Notebook-ExecutionIndicator'))
        .find(el => el.offsetParent !== null);
    return prompts.every(p => !p.innerText.includes('*'))
        && (!status || status.getAttribute('data-status') === 'idle');
}"""


def _open_notebook(page, lab, path: str):
    page.goto(lab.page_url(path))
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    panel.locator(".jp-Cell").first.wait_for(timeout=60_000)
    # The kernel named in the notebook starts by itself: no dialog asks which one to use.
    display = ZH_KERNEL_DISPLAY_NAME if path.startswith("notebooks/zh/") else KERNEL_DISPLAY_NAME
    kernel_name = f".jp-NotebookPanel:not(.lm-mod-hidden) .jp-KernelName:has-text('{display}')"
    page.wait_for_selector(f"{kernel_name}, .jp-Dialog", timeout=60_000)
    assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").inner_text()
    page.wait_for_selector(kernel_name, timeout=60_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").filter(
        visible=True
    ).wait_for(timeout=60_000)
    assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").inner_text()
    return panel


def _menu(page, menu: str, command: str):
    page.get_by_role("menuitem", name=menu, exact=True).click()
    page.locator(f"li.lm-Menu-item[data-command='{command}']").click()


def _wait_idle(page, stable_s: float = 0.5):
    """Wait until no cell is queued or running and the kernel is idle, for ``stable_s`` seconds."""
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    calm_since = None
    while time.monotonic() < deadline:
        if page.evaluate(IDLE):
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since >= stable_s:
                return
        else:
            calm_since = None
        page.wait_for_timeout(200)
    raise AssertionError("the notebook was still running after the time limit")


def _code_cells_with_source(lab, path: str) -> list[bool]:
    """For each code cell of the notebook, in page order: whether it holds any code."""
    nb = nbformat.read(lab.root / path, as_version=4)
    return [bool(c.source.strip()) for c in nb.cells if c.cell_type == "code"]


def _run_every_cell(page, panel, has_source: list[bool]) -> int:
    """Run all cells like a student: Run All, and after each error, run the rest from the next
    cell.  Returns how many times execution stopped at an error."""
    _menu(page, "Run", "runmenu:run-all")
    page.wait_for_timeout(300)  # the run has queued its cells
    _wait_idle(page)
    cells = panel.locator(".jp-Notebook .jp-CodeCell")
    stops = 0
    for _ in range(cells.count()):
        prompts = page.evaluate(CELL_PROMPTS)
        assert len(prompts) == len(has_source), (
            f"the page shows {len(prompts)} code cells, the notebook has {len(has_source)}"
        )
        pending = [i for i, p in enumerate(prompts) if p == "[ ]:" and has_source[i]]
        if not pending:
            return stops
        stops += 1
        cell = cells.nth(pending[0])
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputPrompt").click()  # selects the cell without editing it
        _menu(page, "Run", "notebook:run-all-below")
        page.wait_for_timeout(300)  # the run has queued its cells
        _wait_idle(page)
    raise AssertionError(f"cells never ran: {page.evaluate(CELL_PROMPTS)}")


def _save(page, lab, path: str):
    _menu(page, "File", "docmanager:save")
    page.wait_for_selector(".jp-mod-current.jp-mod-dirty", state="detached", timeout=30_000)
    return nbformat.read(lab.root / path, as_version=4)


def _is_expected_error(output) -> bool:
    """An unanswered exercise: the answer cell raises NotImplementedError, and the check under it
    reports that the answer is not written yet."""
    if output.ename == "NotImplementedError":
        return True
    return output.ename == "CheckFailed" and "[not_implemented]" in output.evalue


def _rendered_images(page) -> list[dict]:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll(
            '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img')).map(img => ({
                ok: img.complete && img.naturalWidth > 0, alt: img.alt || '',
                inWidget: !!img.closest('.jupyter-widgets'),
            }))"""
    )


def _explorer_responds(page, explorer) -> None:
    """Move an explorer's first control and wait for its figure to be redrawn by the kernel."""
    # A redraw replaces the figure's <img>: compare what the explorer shows, not one element.
    before = explorer.locator(".widget-html img").first.get_attribute("src")
    dropdown = explorer.locator("select")
    if dropdown.count():
        options = dropdown.first.locator("option").all_inner_texts()
        dropdown.first.select_option(options[-1])
    else:
        handle = explorer.locator(".noUi-handle").first
        handle.focus()
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        """([box, before]) => {
            const img = box.querySelector('.widget-html img');
            return img !== null && img.complete && img.naturalWidth > 0
                && img.getAttribute('src') !== before;
        }""",
        arg=[explorer.element_handle(), before],
        timeout=30_000,
    )


@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS)
def test_student_notebook_runs_in_the_browser(page, lab, path):
    has_source = _code_cells_with_source(lab, path)
    panel = _open_notebook(page, lab, path)
    _run_every_cell(page, panel, has_source)

    # What the page shows: every figure rendered, widgets drawn and not left as error text.
    images = _rendered_images(page)
    assert all(img["ok"] for img in images), f"figures that did not render: {images}"
    output_text = " ".join(panel.locator(".jp-OutputArea-output").all_inner_texts())
    assert "Error displaying widget" not in output_text
    assert "Loading widget..." not in output_text

    nb = _save(page, lab, path)
    code_cells = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    never_ran = [i for i, c in enumerate(code_cells) if not c.execution_count]
    assert never_ran == [], f"code cells that never ran (by position among code cells): {never_ran}"
    errors = [o for c in code_cells for o in c.outputs if o.output_type == "error"]
    unexpected = [f"{o.ename}: {o.evalue[:300]}" for o in errors if not _is_expected_error(o)]
    assert unexpected == [], "errors other than those of unanswered exercises"
    if path.startswith("notebooks/zh/") and errors:
        # The edition's kernel sets CONVCOURSE_LANG=zh: the checks answer in Chinese.
        said = " ".join(o.evalue for o in errors)
        assert re.search(r"[\u4e00-\u9fff]", said), said[:500]

    outputs = [o for c in code_cells for o in c.outputs]
    widget_views = sum(
        "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs
    )
    pngs = sum("image/png" in o.get("data", {}) for o in outputs)
    assert len([i for i in images if not i["inWidget"]]) >= pngs
    # The explorers run as widgets in JupyterLab (not as static figures), each with its figure.
    explorers = panel.locator(".jp-OutputArea-output .widget-vbox:has(.widget-html img)")
    assert explorers.count() == widget_views
    assert all(i["alt"] for i in images if i["inWidget"]), "a widget figure without alt text"
    for k in range(explorers.count()):
        explorers.nth(k).scroll_into_view_if_needed()
        _explorer_responds(page, explorers.nth(k))
    if not path.endswith("/00_index.ipynb"):
        assert pngs + widget_views > 0, "a lesson without a single figure"

    # Students are never asked about news.
    assert page.locator(".Toastify__toast:has-text('news')").count() == 0


def test_index_links_every_lesson_in_order(page, lab):
    panel = _open_notebook(page, lab, "notebooks/00_index.ipynb")
    hrefs = panel.locator(".jp-MarkdownOutput a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    # JupyterLab rewrites relative links to /files/<path>?_xsrf=...
    linked = [h.split("?")[0] for h in hrefs if h and h.split("?")[0].endswith(".ipynb")]
    lessons = [next(m for m in LESSONS if m in h) for h in linked if any(m in h for m in LESSONS)]
    assert lessons == LESSONS, hrefs
    # A link opens the lesson in a new tab of JupyterLab.
    panel.locator(f".jp-MarkdownOutput a[href*='{LESSONS[0]}']").first.click()
    page.wait_for_selector(f".lm-TabBar-tab:has-text('{LESSONS[0]}.ipynb')", timeout=30_000)


def _solved_notebook(lesson: str):
    """The student release of ``lesson`` with every answer cell filled in from the solutions:
    what a student who solved everything hands in."""
    student = nbformat.read(REPO / "notebooks" / lesson / f"{lesson}.ipynb", as_version=4)
    source = nbformat.read(REPO / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
    answers = {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in source.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    for cell in student.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            lines = answers[meta["grade_id"]].splitlines()
            cell.source = "\n".join(
                line
                for line in lines
                if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
            )
    return student


def _validate(page) -> str:
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar").get_by_role(
        "button", name="Validate"
    ).click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(
        "() => !/Validating/.test(document.querySelector('.jp-Dialog')?.innerText || '')",
        timeout=RUN_TIMEOUT_MS,
    )
    return dialog.inner_text()


def test_validate_passes_a_solved_notebook(page, lab):
    path = f"solved/{SOLVED_LESSON}/{SOLVED_LESSON}.ipynb"
    (lab.root / path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(_solved_notebook(SOLVED_LESSON), lab.root / path)
    _open_notebook(page, lab, path)
    text = _validate(page)
    assert "Success! Your notebook passes all the tests." in text, text


def test_validate_fails_an_unanswered_notebook(page, lab):
    _open_notebook(page, lab, f"notebooks/{SOLVED_LESSON}/{SOLVED_LESSON}.ipynb")
    text = _validate(page)
    assert "Success!" not in text, text
    # Each exercise's test cell is named, with the check's own message.
    assert text.count("The following cell failed") >= 3, text
    assert "Not written yet" in text, text


def test_assignment_list_shows_the_lessons_and_no_instructor_tools(page, lab):
    page.goto(lab.page_url())
    page.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    entries = page.locator(".lm-Menu-content .lm-Menu-item").all_inner_texts()
    assert any("Assignment List" in e for e in entries), entries
    instructor_tools = ("Formgrader", "Create", "Course")
    assert not any(tool in e for e in entries for tool in instructor_tools), entries
    page.locator("li.lm-Menu-item[data-command='nbgrader:open-assignment-list']").click()
    listing = page.locator("#fetched_assignments_list")
    for lesson in LESSONS:
        listing.locator(f"text={lesson}").first.wait_for(timeout=30_000)
    body = page.locator(".lm-DockPanel").inner_text()
    assert "exchange directory does not exist" not in body
