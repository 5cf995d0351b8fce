"""The demo products' pictures (issue 12): every image path of the demo
catalogue, /img/p/N.jpg, is a real JPEG drawn by scripts/demo_images.py
at demo-load time and served by app/http_static.c."""
import requests

from conftest import BASE_URL, TIMEOUT, db


def demo_image_paths():
    return sorted(r["path"] for r in db(
        "SELECT DISTINCT i.path FROM products p,"
        " jsonb_array_elements_text(p.images) AS i(path)"
        " WHERE i.path ~ '^/img/p/[0-9]+[.]jpg$'"))


def test_every_demo_image_is_a_jpeg():
    paths = demo_image_paths()
    assert len(paths) > 300, len(paths)
    s = requests.Session()
    bad = []
    for path in paths:
        r = s.get(BASE_URL + path, timeout=TIMEOUT)
        if r.status_code != 200 or \
                r.headers.get("content-type") != "image/jpeg" or \
                not r.content.startswith(b"\xff\xd8\xff") or \
                len(r.content) < 2000:
            bad.append((path, r.status_code, r.headers.get("content-type")))
    assert bad == []


def test_images_are_cached_long_and_revalidate():
    path = demo_image_paths()[0]
    r = requests.get(BASE_URL + path, timeout=TIMEOUT)
    assert r.status_code == 200
    assert "max-age=31536000" in r.headers["cache-control"]
    again = requests.get(BASE_URL + path, timeout=TIMEOUT,
                         headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


def test_unknown_image_is_404():
    r = requests.get(BASE_URL + "/img/p/9999999.jpg", timeout=TIMEOUT)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
