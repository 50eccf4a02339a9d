"""Image intake: files and folders → page images (grey numpy arrays with square pixels) or an error reason.

Scanner PDFs carry one image per page; that image is taken out with pypdf without re-rendering (JPEG, Flate,
CCITT G3/G4, ...). Pages that are not a single full-page image (vector letters, JBIG2 without a decoder,
anything pypdf cannot decode) are rasterised with pypdfium2. TIFF (multi-page, CCITT G4), JPEG and PNG go
through Pillow with their EXIF orientation applied. Non-square resolutions (standard fax 204 x 98 dpi) are
resampled to square pixels; scans above `MAX_WORK_DPI` are reduced to it.

Files are recognised by their content (magic bytes), not their name: a `.jfif`, an extension-less
scanner file or a `.heic` photo is taken. What cannot be a scan (a FIFO, a device, a text file in a folder)
is skipped and named (`collect`). A file given by name is always read; in a folder, a file whose content is
not an image or PDF is taken only when its name says it should be one (so a broken `.jpg` gets an outcome).

Nothing here raises for bad input: a file or page that cannot be read yields an `IntakePage` whose
`image` is None and whose `error` says why ("corrupt file", "unsupported format", "image too large", ...),
and the iteration goes on with the rest of the stack. There is no page limit per file. A PDF is parsed
once per process (`_pdf_reader` keeps the open document), not once per chunk of pages.
"""

from __future__ import annotations

import atexit
import gc
import hashlib
import io
import os
import stat
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from mailing.log import get_logger

log = get_logger(__name__)

RASTER_DPI = 200.0  # vector PDF pages: 0.8 mm QR modules get 6.3 px, 6 mm tick boxes 47 px
DEFAULT_DPI = 200.0  # an image without resolution information: the common office-scanner setting
MAX_WORK_DPI = 300.0  # finer scans are reduced: 300 dpi gives 9 px per module, more only costs time
MAX_PIXELS = 120_000_000  # ~A3 at 600 dpi; anything larger is refused as a possible decompression bomb
MIN_SIDE_PX = 32  # smaller images cannot carry a readable coupon

IMAGE_SUFFIXES = {".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".jfif", ".jpe", ".png", ".bmp", ".gif", ".webp",
                  ".heic", ".heif"}
HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif")
HEIC_UNSUPPORTED = "HEIC not supported: export the photo as JPEG (iPhone: Settings > Camera > Formats > Most Compatible)"


def display_name(path: str | os.PathLike[str]) -> str:
    """A path as text that can always be printed and stored: bytes that are not UTF-8 (a Latin-1 file name
    from an old share) are shown as backslash escapes (`M\\xfcller.png`)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Skipped:
    """A path that is not read, and why ("a FIFO (named pipe)", "not an image or PDF", ...)."""

    path: str  # display name
    why: str


def _not_a_file(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe), not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file"
    return "not a regular file"


@dataclass(frozen=True)
class IntakePage:
    """One page of one input file: its grey image (white = 255) or why there is none."""

    source: str
    page: int  # 1-based
    image: np.ndarray | None
    dpi: float
    error: str | None = None
    vector: bool = False  # a PDF page drawn without any raster image: made by a program, never by a scanner

    def __iter__(self) -> Iterator[object]:  # (source, page, image, dpi, error), as the pipeline unpacks it
        return iter((self.source, self.page, self.image, self.dpi, self.error))


def image_hash(image: np.ndarray) -> str:
    """SHA-256 over the decoded pixels and the shape: the same image scanned again gives the same hash."""
    h = hashlib.sha256(f"{image.shape[0]}x{image.shape[1]}:".encode())
    h.update(np.ascontiguousarray(image, dtype=np.uint8).data)  # the pixel buffer itself, no copy
    return h.hexdigest()


def collect(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[str], list[Skipped]]:
    """Files to read, in order (folders expanded recursively, sorted, hidden files left out), and what is
    skipped with why. Never opens a FIFO or a device; never raises for a path that vanished."""
    out: list[str] = []
    skipped: list[Skipped] = []
    for p in paths:
        path = os.fspath(p)
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            out.append(path)  # named by its own outcome ("file not found", "cannot open file")
            log.debug("%s: %s", display_name(path), exc)
            continue
        if stat.S_ISDIR(mode):
            _walk(Path(path), out, skipped)
            continue
        why = _not_a_file(mode)
        if why:
            skipped.append(Skipped(display_name(path), why))
        else:
            out.append(path)
    return out, skipped


def _walk(folder: Path, out: list[str], skipped: list[Skipped]) -> None:
    entries = []
    for f in folder.rglob("*"):
        if any(part.startswith(".") for part in f.relative_to(folder).parts):
            continue
        entries.append(f)
    for f in sorted(entries):
        try:
            mode = f.lstat().st_mode
            if stat.S_ISLNK(mode):
                mode = f.stat().st_mode
        except OSError:
            skipped.append(Skipped(display_name(f), "cannot be read (dangling link or no permission)"))
            continue
        if stat.S_ISDIR(mode):
            continue
        why = _not_a_file(mode)
        if why is None:
            kind = _sniff_quietly(str(f))
            if kind in ("pdf", "image", "heic", "unopenable") or f.suffix.lower() in IMAGE_SUFFIXES:
                out.append(str(f))  # a file that cannot be opened gets its outcome ("cannot open file")
                continue
            why = "empty file" if kind == "empty" else "not an image or PDF"
        skipped.append(Skipped(display_name(f), why))


def _sniff_quietly(source: str) -> str:
    try:
        return _sniff(source)
    except OSError:
        return "unopenable"


def iter_pages(paths: Iterable[str | os.PathLike[str]]) -> Iterator[IntakePage]:
    """Every page of every file (folders expanded), in order; never raises for bad input."""
    for source in collect(paths)[0]:
        yield from iter_file(source)


def count_pages(source: str) -> int:
    """Pages in one file without decoding them (1 for a file that cannot be opened: its error item)."""
    try:
        kind = _sniff(source)
        if kind == "pdf":
            return max(1, len(_pdf_reader(source).pages))
        if kind == "image":
            with Image.open(source) as im:
                return max(1, getattr(im, "n_frames", 1))
    except Exception:  # noqa: BLE001 - a broken file is one error item
        return 1
    return 1


def iter_file(source: str, pages: Iterable[int] | None = None) -> Iterator[IntakePage]:
    """The pages of one file (all, or the 1-based numbers given); errors become error items."""
    try:
        kind = _sniff(source)
    except FileNotFoundError:
        yield IntakePage(source, 1, None, 0.0, "file not found")
        return
    except OSError as exc:
        yield IntakePage(source, 1, None, 0.0, f"cannot open file ({exc.strerror or exc})")
        return
    wanted = set(pages) if pages is not None else None
    last = 0  # the last page yielded: a file that breaks half-way gives its next page the error
    try:
        for item in _pages_of(kind, source, wanted):
            last = item.page
            yield item
    except Exception as exc:  # noqa: BLE001 - whatever a broken file throws, the stack goes on
        log.warning("%s: corrupt file (%s)", display_name(source), exc)
        if last:
            later = sorted(p for p in wanted if p > last) if wanted is not None else [last + 1]
            if later:
                yield IntakePage(source, later[0], None, 0.0, "corrupt page (the file breaks off here)")
        else:
            yield IntakePage(source, min(wanted) if wanted else 1, None, 0.0, "corrupt file")


def _pages_of(kind: str, source: str, wanted: set[int] | None) -> Iterator[IntakePage]:
    if kind == "pdf":
        yield from _pdf_pages(source, wanted)
    elif kind == "image":
        yield from _image_pages(source, wanted)
    elif kind == "heic":
        yield from _heic_pages(source, wanted)
    elif kind == "empty":
        yield IntakePage(source, 1, None, 0.0, "empty file")
    else:
        yield IntakePage(source, 1, None, 0.0, "unsupported format")


def _sniff(source: str) -> str:
    """"pdf", "image", "heic", "empty" or "unknown", from the first bytes. Only regular files are opened
    (a FIFO would block, a device never ends)."""
    fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        why = _not_a_file(os.fstat(fd).st_mode)
        if why:
            raise OSError(0, why)
        head = os.read(fd, 1024)
    finally:
        os.close(fd)
    if head.startswith(b"%PDF") or b"%PDF" in head:
        return "pdf"
    magic = (b"II*\x00", b"MM\x00*", b"\xff\xd8\xff", b"\x89PNG", b"BM", b"GIF8")
    if head.startswith(magic) or (head.startswith(b"RIFF") and head[8:12] == b"WEBP"):
        return "image"
    if head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS:
        return "heic"
    if not head:
        return "empty"
    return "unknown"


def _heic_pages(source: str, wanted: set[int] | None) -> Iterator[IntakePage]:
    """HEIC/HEIF (iPhone photos): read when pillow-heif is installed, else one page that says what to do."""
    try:
        from pillow_heif import register_heif_opener  # type: ignore[import-not-found]
    except ImportError:
        yield IntakePage(source, 1, None, 0.0, HEIC_UNSUPPORTED)
        return
    register_heif_opener()
    yield from _image_pages(source, wanted)


# --------------------------------------------------------------------------------------------- images
def _image_pages(source: str, wanted: set[int] | None) -> Iterator[IntakePage]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(source)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            yield IntakePage(source, 1, None, 0.0, "image too large")
            return
        except UnidentifiedImageError:
            yield IntakePage(source, 1, None, 0.0, "unsupported format")
            return
        with im:
            n = 0
            for n, frame in enumerate(ImageSequence.Iterator(im), start=1):
                if wanted is not None and n not in wanted:
                    continue
                yield _from_pil(source, n, frame)
            if n == 0:
                yield IntakePage(source, 1, None, 0.0, "corrupt file")


def _from_pil(source: str, page: int, frame: Image.Image) -> IntakePage:
    w, h = frame.size
    if w * h > MAX_PIXELS:
        return IntakePage(source, page, None, 0.0, "image too large")
    try:
        frame.load()
        dpi_x, dpi_y = _pil_dpi(frame)
        frame = ImageOps.exif_transpose(frame) or frame
        grey = _to_grey(frame)
    except (OSError, ValueError, SyntaxError) as exc:
        log.warning("%s, page %d: corrupt page (%s)", display_name(source), page, exc)
        return IntakePage(source, page, None, 0.0, "corrupt page")
    return _finish(source, page, grey, dpi_x, dpi_y)


def _pil_dpi(frame: Image.Image) -> tuple[float, float]:
    dpi = frame.info.get("dpi")
    if not dpi:
        # TIFF: resolution tags; fax TIFFs carry 204 x 98 (or 196) with unit inch
        x = frame.info.get("resolution") if hasattr(frame, "info") else None
        dpi = x if isinstance(x, tuple) else None
    try:
        dx, dy = (float(dpi[0]), float(dpi[1])) if dpi else (DEFAULT_DPI, DEFAULT_DPI)
    except (TypeError, ValueError, IndexError):
        dx, dy = DEFAULT_DPI, DEFAULT_DPI
    if not (20 <= dx <= 4800) or not (20 <= dy <= 4800):
        dx = dy = DEFAULT_DPI
    # an EXIF orientation of 5..8 turns the image by 90 degrees: the resolutions swap with the axes
    try:
        orientation = frame.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - broken EXIF is ignored, the pixels may still be fine
        orientation = 1
    if orientation in (5, 6, 7, 8):
        dx, dy = dy, dx
    return dx, dy


def _to_grey(im: Image.Image) -> np.ndarray:
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        top = max(1.0, float(arr.max()))
        return np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
    if im.mode == "CMYK":
        im = im.convert("RGB")
    return np.asarray(im.convert("L"), dtype=np.uint8)


def _finish(source: str, page: int, grey: np.ndarray, dpi_x: float, dpi_y: float) -> IntakePage:
    """Square pixels, at most MAX_WORK_DPI, C-contiguous uint8."""
    h, w = grey.shape[:2]
    if min(h, w) < MIN_SIDE_PX:
        return IntakePage(source, page, None, 0.0, "image too small")
    dpi = max(dpi_x, dpi_y)
    target = min(dpi, MAX_WORK_DPI)
    fx, fy = target / dpi_x, target / dpi_y
    if abs(fx - 1) > 0.01 or abs(fy - 1) > 0.01:
        nw, nh = max(1, round(w * fx)), max(1, round(h * fy))
        interp = cv2.INTER_AREA if fx <= 1 and fy <= 1 else cv2.INTER_LINEAR
        if fx <= 1 < fy or fy <= 1 < fx:
            interp = cv2.INTER_LINEAR
        grey = cv2.resize(grey, (nw, nh), interpolation=interp)
    else:
        target = dpi_x
    return IntakePage(source, page, np.ascontiguousarray(grey, dtype=np.uint8), float(target))


# ------------------------------------------------------------------------------------------------ PDF
_PDF_LOCK = threading.Lock()
_PDF_CACHE: OrderedDict[tuple[str, int, int], Any] = OrderedDict()
PDF_CACHE_FILES = 2  # parsed PDFs kept per process: workers alternate between two files only at a file boundary
_PDFIUM_CACHE: dict[tuple[str, int, int], Any] = {}
PDF_PARSES = [0]  # PDFs parsed by this process (a test counts them: a big PDF is parsed once, not per chunk)
# A pypdf reader holds its whole file (read into memory) and lives in reference cycles, so a reader dropped
# from the cache is freed only by the cyclic garbage collector, whose full runs are rare: the scan of 200
# PDFs of 500 pages peaked at 1.77 GB while counting their pages. Once the files of the readers dropped
# add up to this many bytes, a collection frees them (a reader still used by another thread stays alive).
PDF_DROPPED_BYTES = 32 << 20
_PDF_DROPPED = [0]


@atexit.register
def _close_pdfium() -> None:
    with _PDF_LOCK:
        for doc in _PDFIUM_CACHE.values():
            doc.close()
        _PDFIUM_CACHE.clear()


def _pdf_reader(source: str):  # type: ignore[no-untyped-def]
    """The parsed PDF, kept while the same file (same size and time) is read: a worker reading chunk after
    chunk of a 20,000-page file parses its cross-reference table and page tree once."""
    import pypdf

    st = os.stat(source)
    key = (source, st.st_size, st.st_mtime_ns)
    with _PDF_LOCK:
        reader = _PDF_CACHE.get(key)
        if reader is None:
            reader = pypdf.PdfReader(source)
            PDF_PARSES[0] += 1
            _PDF_CACHE[key] = reader
            while len(_PDF_CACHE) > PDF_CACHE_FILES:
                (_, size, _), _ = _PDF_CACHE.popitem(last=False)
                _PDF_DROPPED[0] += size
        _PDF_CACHE.move_to_end(key)
        collect = _PDF_DROPPED[0] >= PDF_DROPPED_BYTES
        if collect:
            _PDF_DROPPED[0] = 0
    if collect:
        gc.collect()
    return reader


def forget_pdfs() -> None:
    """Drop the parsed PDFs this process keeps (the caller counted pages; its workers read them)."""
    with _PDF_LOCK:
        _PDF_CACHE.clear()
        _PDF_DROPPED[0] = 0
    gc.collect()


def _pdf_pages(source: str, wanted: set[int] | None) -> Iterator[IntakePage]:
    reader = _pdf_reader(source)
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception:  # noqa: BLE001
            yield IntakePage(source, 1, None, 0.0, "encrypted PDF")
            return
    n = len(reader.pages)
    if n == 0:
        yield IntakePage(source, 1, None, 0.0, "corrupt file")
        return
    for i in sorted(p - 1 for p in wanted if 0 < p <= n) if wanted is not None else range(n):
        try:
            item = _pdf_page_image(source, reader, i)
        except Exception as exc:  # noqa: BLE001 - a broken page is one error item, the file goes on
            log.warning("%s, page %d: corrupt page (%s)", display_name(source), i + 1, exc)
            item = IntakePage(source, i + 1, None, 0.0, "corrupt page")
        yield item


def _pdf_page_image(source: str, reader: object, index: int) -> IntakePage:
    page = reader.pages[index]  # type: ignore[attr-defined]
    box = page.mediabox
    width_in, height_in = float(box.width) / 72.0, float(box.height) / 72.0
    rotate = int(page.get("/Rotate", 0) or 0) % 360
    size = _single_image_size(page)
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        return IntakePage(source, index + 1, None, 0.0, "image too large")
    img = _single_scanner_image(page) if size is not None else None
    if img is not None:
        try:
            grey = _to_grey(img)
        except (OSError, ValueError) as exc:
            log.debug("%s, page %d: embedded image not decodable (%s), rasterising", source, index + 1, exc)
        else:
            pw, ph = (height_in, width_in) if rotate in (90, 270) else (width_in, height_in)
            if rotate:
                grey = np.ascontiguousarray(np.rot90(grey, k=-(rotate // 90)))
            gh, gw = grey.shape
            return _finish(source, index + 1, grey, gw / pw if pw else DEFAULT_DPI, gh / ph if ph else DEFAULT_DPI)
    item = _rasterise(source, index, width_in, height_in)
    if item.image is not None and not _has_raster(page):
        item = IntakePage(item.source, item.page, item.image, item.dpi, item.error, vector=True)
    return item


def _has_raster(page: object) -> bool:
    """Whether the page itself draws a raster image (every scanner page does; a rendered letter need not)."""
    try:
        resources = page["/Resources"]  # type: ignore[index]
        xobjects = resources.get("/XObject") if resources is not None else None
        if xobjects is None:
            return b" BI" in (page.get_contents().get_data() or b"")  # type: ignore[attr-defined]
        xobjects = xobjects.get_object()
        return any(xobjects[k].get_object().get("/Subtype") == "/Image" for k in xobjects)
    except Exception:  # noqa: BLE001 - when in doubt, treat the page as a scan
        return True


def pdf_info(source: str) -> dict[str, str]:
    """The PDF's document information (/Creator, /Title, ...) as text; {} for anything unreadable."""
    try:
        info = _pdf_reader(source).metadata or {}
        return {str(k): str(v) for k, v in info.items()}
    except Exception:  # noqa: BLE001 - a broken file gets its outcome when its pages are read
        return {}


def _single_image_size(page: object) -> tuple[int, int] | None:
    """(width, height) of the page's only image XObject, read from its dictionary (nothing decoded)."""
    try:
        resources = page["/Resources"]  # type: ignore[index]
        xobjects = resources.get("/XObject") if resources is not None else None
        if xobjects is None:
            return None
        xobjects = xobjects.get_object()
        subtypes = [xobjects[k].get_object().get("/Subtype") for k in xobjects]
        if subtypes.count("/Image") != 1 or "/Form" in subtypes:
            return None
        obj = next(xobjects[k].get_object() for k in xobjects if xobjects[k].get_object().get("/Subtype") == "/Image")
        w, h = int(obj.get("/Width", 0)), int(obj.get("/Height", 0))
        return (w, h) if w > 0 and h > 0 else None
    except (KeyError, AttributeError, TypeError, ValueError):
        return None


def _single_scanner_image(page: object) -> Image.Image | None:
    """The page's only image when nothing else is drawn (a scanner PDF); None for anything else."""
    try:
        content = page.get_contents()  # type: ignore[attr-defined]
        text = content.get_data() if content is not None else b""
        if b"BT" in text.split():  # text drawn on top: not a pure scanner page
            return None
        imgs = page.images  # type: ignore[attr-defined]
        pil = imgs[0].image
        return pil if pil is not None else None
    except (KeyError, AttributeError):
        return None
    except Exception as exc:  # noqa: BLE001 - pypdf cannot decode this filter (e.g. JBIG2): rasterise
        log.debug("embedded image not extractable (%s), rasterising", exc)
        return None



def _rasterise(source: str, index: int, width_in: float, height_in: float) -> IntakePage:
    import pypdfium2 as pdfium

    if width_in * height_in * RASTER_DPI * RASTER_DPI > MAX_PIXELS:
        return IntakePage(source, index + 1, None, 0.0, "image too large")
    st = os.stat(source)
    key = (source, st.st_size, st.st_mtime_ns)
    with _PDF_LOCK:
        doc = _PDFIUM_CACHE.get(key)
        if doc is None:
            for old in _PDFIUM_CACHE.values():
                old.close()
            _PDFIUM_CACHE.clear()
            doc = _PDFIUM_CACHE[key] = pdfium.PdfDocument(source)
        bitmap = doc[index].render(scale=RASTER_DPI / 72.0, grayscale=True)
        grey = np.asarray(bitmap.to_pil().convert("L"), dtype=np.uint8)
    return _finish(source, index + 1, grey, RASTER_DPI, RASTER_DPI)


def load_bytes(data: bytes, name: str = "<bytes>") -> IntakePage:
    """One image from memory (tests, the review UI); the first page only."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            return _from_pil(name, 1, im)
    except (UnidentifiedImageError, OSError):
        return IntakePage(name, 1, None, 0.0, "unsupported format")
