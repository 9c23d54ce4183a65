import io

import pytest

from agent.config import load_config
from agent.demo import run_demo


@pytest.mark.integration
def test_demo_indexes_resumably_and_finds_each_item_by_its_own_photo(tiny_catalog, tmp_path):
    from retrieval.catalog import read_catalog

    items = list(read_catalog(tiny_catalog))
    photos = [str(i.image) for i in items[:3]]
    overrides = [
        f"demo.catalog={tiny_catalog}",
        f"store.path={tmp_path / 'db'}",
        f"demo.query_images={photos}",
        f"demo.query_texts=['{items[4].title}']",
        "demo.k=3",
    ]
    out = io.StringIO()
    results = run_demo(load_config(None, overrides), out=out)
    text = out.getvalue()
    assert "added 12, unchanged 0" in text
    for item, photo in zip(items, photos):
        assert results[photo][0].id == item.id
        assert results[photo][0].score == pytest.approx(1.0, abs=1e-3)
    assert results[items[4].title][0].id == items[4].id
    assert items[0].title in text

    # A second run embeds nothing again.
    out = io.StringIO()
    run_demo(load_config(None, overrides), out=out)
    assert "added 0, unchanged 12" in out.getvalue()


@pytest.mark.integration
def test_demo_reports_a_corrupt_image_and_indexes_the_rest(tiny_catalog, tmp_path, capsys):
    (tiny_catalog.parent / "images").iterdir().__next__().write_bytes(b"not a jpeg")
    overrides = [
        f"demo.catalog={tiny_catalog}",
        f"store.path={tmp_path / 'db'}",
        "demo.query_images=[]",
        "demo.query_texts=[]",
    ]
    out = io.StringIO()
    run_demo(load_config(None, overrides), out=out)
    assert "image: added 11, unchanged 0, failed 1" in out.getvalue()
    assert "text: added 12" in out.getvalue()
    assert "could not be used" in capsys.readouterr().err
