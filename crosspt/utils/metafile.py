"""crosspt's metafiles (OpenMMLab schema plus crosspt's fields), read and validated.

``model-index.yml`` lists the metafiles (``Import:``); each metafile holds
``Collections`` and ``Models`` in the OpenMMLab schema.  :class:`Zoo` loads them all and
checks every entry, listing every problem with the metafile and the model it is in;
``tools/misc/generate_model_zoo.py`` renders the model-zoo tables from it.

crosspt fields on top of OpenMMLab's:

- ``Model.Metadata``: ``Pretraining Data`` (for a pre-training config) or ``Pretrained``
  (name of the pre-training model a downstream config starts from; null = from
  scratch); ``Epochs`` or ``Iterations`` (the config's schedule); ``Parameters``.
- ``Model``: ``Weights`` and ``Log`` (a URL or null; a weights URL ends with the
  ``-<sha256 prefix>.pth`` that ``tools/model_converters/publish_model.py`` writes) and
  ``Weights Note`` (why they are null); ``Official Weights`` for a third-party file
  (:mod:`crosspt.fileio.model_index`).
- ``Result``: ``Source`` = ``paper`` (needs ``Reference``), ``official-release`` (needs
  ``Release`` and ``Conversion``: the command, or null with a ``Conversion Note``) or
  ``crosspt-run`` (needs ``Command``, ``Data``, ``Hardware``, ``Date``; optional
  ``Wall Time``, ``Setup``, ``Notes``).  Optional: ``Protocol``, ``Schedule`` (what the
  run used, when it differs from the config), ``Baseline`` (``Name``, ``Config``,
  ``Metrics``), ``Curves`` (``Name``, ``X``, ``Points``), ``Seeds``, ``Per Class``,
  ``Section``.  A metric ``K std`` is shown as ``K mean ± std``.

Metric values are numbers or strings; a string is printed verbatim (``'4.70'`` keeps
its trailing zero).
"""
import math
import os.path as osp
import re
from typing import Dict, List, Tuple

import yaml

from crosspt.fileio.download import hash_prefix_from_name
from crosspt.fileio.model_index import OFFICIAL_KEY, official_problems

#: the model index, relative to the repository root
INDEX = 'model-index.yml'
#: ``Result.Source`` values -> how the tables print them
SOURCES = {'paper': '*paper*', 'official-release': 'official release',
           'crosspt-run': 'crosspt run'}
SECTION_ID = re.compile(r'[a-z0-9][a-z0-9-]*')
DATE = re.compile(r'\d{4}-\d{2}-\d{2}')
MODEL_KEYS = {'Name', 'In Collection', 'Config', 'Metadata', 'Results', 'Weights', 'Log',
              'Weights Note', 'Alias', 'Converted From', 'README', 'Paper', 'Code',
              OFFICIAL_KEY}
RESULT_KEYS = {'Task', 'Dataset', 'Metrics', 'Source', 'Reference', 'Release',
               'Conversion', 'Conversion Note', 'Command', 'Data', 'Hardware', 'Date',
               'Wall Time', 'Setup', 'Notes', 'Protocol', 'Schedule', 'Baseline', 'Curves',
               'Seeds', 'Per Class', 'Section'}


class MetafileError(ValueError):
    """Invalid model index, metafile or generated-block markers (all problems listed)."""


class Zoo:
    """The collections and models of every metafile that model-index.yml imports."""

    def __init__(self, root: str):
        self.root = root
        self.collections: Dict[str, dict] = {}
        self.collection_file: Dict[str, str] = {}
        self.models: Dict[str, dict] = {}
        self.model_file: Dict[str, str] = {}
        self.errors: List[str] = []
        self._load()
        self._validate()
        if self.errors:
            raise MetafileError('\n'.join(self.errors))

    # -- loading ----------------------------------------------------------------------
    def _read_yaml(self, rel: str):
        path = osp.join(self.root, rel)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path}: file not found')
        with open(path, encoding='utf-8') as f:
            try:
                return yaml.safe_load(f)
            except yaml.YAMLError as e:
                raise MetafileError(f'{rel}: not valid YAML: {e}') from e

    def _load(self) -> None:
        index = self._read_yaml(INDEX)
        imports = index.get('Import') if isinstance(index, dict) else None
        if not isinstance(imports, list) or not all(isinstance(p, str) for p in imports):
            raise MetafileError(f'{INDEX}: expected "Import:" with a list of metafile paths')
        for rel in imports:
            if not osp.isfile(osp.join(self.root, rel)):
                self.errors.append(f'{INDEX}: imported metafile {rel} does not exist')
                continue
            data = self._read_yaml(rel)
            if not isinstance(data, dict) or not isinstance(data.get('Models'), list):
                self.errors.append(f'{rel}: expected a "Models:" list')
                continue
            for coll in data.get('Collections') or []:
                name = coll.get('Name') if isinstance(coll, dict) else None
                if not isinstance(name, str) or name in self.collections:
                    self.errors.append(f'{rel}: collection {name!r}: missing or repeated Name')
                    continue
                self.collections[name] = coll
                self.collection_file[name] = rel
            for model in data['Models']:
                name = model.get('Name') if isinstance(model, dict) else None
                if not isinstance(name, str) or name in self.models:
                    self.errors.append(f'{rel}: model {name!r}: missing or repeated Name')
                    continue
                self.models[name] = model
                self.model_file[name] = rel

    # -- validation -------------------------------------------------------------------
    def _is_file(self, path) -> bool:
        return (isinstance(path, str) and not osp.isabs(path)
                and osp.isfile(osp.join(self.root, path)))

    def _exists(self, path) -> bool:
        return (isinstance(path, str) and not osp.isabs(path)
                and osp.exists(osp.join(self.root, path)))

    def _validate(self) -> None:
        for name, coll in self.collections.items():
            where = f'{self.collection_file[name]}: collection {name}'
            paper = coll.get('Paper')
            if not (isinstance(paper, dict) and paper.get('Title') and paper.get('URL')):
                self.errors.append(f'{where}: Paper needs Title and URL')
            if not self._is_file(coll.get('README')):
                self.errors.append(f'{where}: README {coll.get("README")!r} does not exist')
            code = coll.get('Code')
            if not (isinstance(code, dict) and self._exists(code.get('URL'))):
                self.errors.append(f'{where}: Code.URL must be an existing repository path')
            if not SECTION_ID.fullmatch(slug(name)):
                self.errors.append(f'{where}: name gives no usable section id')
        for name, model in self.models.items():
            where = f'{self.model_file[name]}: model {name}'
            self.errors.extend(f'{where}: {problem}' for problem in self._model_problems(model))

    def _model_problems(self, model: dict) -> List[str]:
        out = [f'unknown key {key!r}' for key in model if key not in MODEL_KEYS]
        if model.get('In Collection') not in self.collections:
            out.append(f'In Collection {model.get("In Collection")!r} is not a collection')
        if not self._is_file(model.get('Config')):
            out.append(f'Config {model.get("Config")!r} does not exist')
        md = model.get('Metadata')
        if not isinstance(md, dict):
            return out + ['Metadata is missing']
        if not isinstance(md.get('Backbone'), str):
            out.append('Metadata.Backbone is missing')
        if ('Pretraining Data' in md) == ('Pretrained' in md):
            out.append('Metadata needs exactly one of "Pretraining Data" (a pre-training '
                       'config) and "Pretrained" (a downstream config; null = from scratch)')
        elif 'Pretrained' in md and md['Pretrained'] is not None:
            parent = self.models.get(md['Pretrained'])
            if parent is None or 'Pretraining Data' not in (parent.get('Metadata') or {}):
                out.append(f'Metadata.Pretrained {md["Pretrained"]!r} is not a pre-training '
                           'model')
        schedule = [key for key in ('Epochs', 'Iterations') if key in md]
        if len(schedule) != 1 or not _positive_int(md[schedule[0]]):
            out.append('Metadata needs exactly one of Epochs / Iterations (a positive int)')
        if 'Parameters' in md and not _positive_int(md['Parameters']):
            out.append('Metadata.Parameters must be a positive int')
        weights, log = model.get('Weights'), model.get('Log')
        if 'Weights' not in model or 'Log' not in model:
            out.append('Weights and Log are required (a URL or null)')
        out.extend(official_problems(model))    # a third-party file: its URL and sha256
        if weights is not None and OFFICIAL_KEY not in model and (
                not isinstance(weights, str) or hash_prefix_from_name(weights) is None):
            out.append(f'Weights {weights!r} must end with "-<sha256 prefix, 8+ hex>.pth" '
                       '(tools/model_converters/publish_model.py naming)')
        if log is not None and not isinstance(log, str):
            out.append('Log must be a URL or null')
        if (weights is None or log is None) and not model.get('Weights Note'):
            out.append('Weights or Log is null: "Weights Note" must say why')
        results = model.get('Results')
        if results is not None and (not isinstance(results, list) or not results):
            return out + ['Results must be null or a non-empty list']
        for i, result in enumerate(results or []):
            out.extend(f'result {i} ({_label(result)}): {p}' for p in self._result_problems(result))
        return out

    def _result_problems(self, result) -> List[str]:
        if not isinstance(result, dict):
            return ['not a mapping']
        out = [f'unknown key {key!r}' for key in result if key not in RESULT_KEYS]
        for key in ('Task', 'Dataset'):
            if not isinstance(result.get(key), str):
                out.append(f'{key} is missing')
        metrics = result.get('Metrics', {})
        out.extend(_metric_problems(metrics, 'Metrics'))
        curves = result.get('Curves', [])
        if not metrics and not curves:
            out.append('needs Metrics or Curves')
        source = result.get('Source')
        if source not in SOURCES:
            out.append(f'Source {source!r} must be one of {", ".join(SOURCES)}')
        elif source == 'paper' and not result.get('Reference'):
            out.append('a paper result needs a Reference (which paper, which table)')
        elif source == 'official-release':
            if not result.get('Release'):
                out.append('an official-release result needs Release (what, where)')
            if 'Conversion' not in result or (result['Conversion'] is None
                                              and not result.get('Conversion Note')):
                out.append('an official-release result needs Conversion (the command) or '
                           'Conversion: null with a Conversion Note')
        elif source == 'crosspt-run':
            for key in ('Command', 'Data', 'Hardware', 'Date'):
                if not result.get(key):
                    out.append(f'a crosspt-run result needs {key}')
            if result.get('Date') and not DATE.fullmatch(str(result['Date'])):
                out.append('Date must be YYYY-MM-DD (quote it in YAML)')
        if not isinstance(result.get('Setup', []), list):
            out.append('Setup must be a list of lines')
        baseline = result.get('Baseline')
        if baseline is not None:
            if not isinstance(baseline, dict) or not baseline.get('Name'):
                out.append('Baseline needs Name and Metrics')
            else:
                out.extend(_metric_problems(baseline.get('Metrics'), 'Baseline.Metrics'))
                if 'Config' in baseline and not self._is_file(baseline['Config']):
                    out.append(f'Baseline.Config {baseline["Config"]!r} does not exist')
        for curve in curves if isinstance(curves, list) else [None]:
            points = curve.get('Points') if isinstance(curve, dict) else None
            if (not isinstance(points, list) or len(points) < 2
                    or not all(isinstance(p, list) and len(p) == 2 for p in points)
                    or not curve.get('Name')):
                out.append('each curve needs Name and at least two [x, y] Points')
        out.extend(_seed_problems(result))
        out.extend(_per_class_problems(result))
        section = result.get('Section')
        if section is not None:
            if (not isinstance(section, str) or not SECTION_ID.fullmatch(section)
                    or section.endswith(('-main', '-weights'))):
                out.append(f'Section {section!r} must be lower-case letters, digits and - '
                           '(not ending in -main, the collections\' tables)')
            elif source != 'crosspt-run':
                out.append('only crosspt-run results have detail sections')
        elif has_details(result):
            out.append('Seeds, Per Class and curves of more than two points need a Section')
        return out

    # -- queries ----------------------------------------------------------------------
    def rows(self, collection: str) -> List[Tuple[dict, dict]]:
        return [(model, result) for model in self.models.values()
                if model['In Collection'] == collection for result in model['Results'] or []]

    def sections(self) -> Dict[str, List[Tuple[dict, dict]]]:
        """Section id -> its (model, result) pairs; main sections first."""
        out = {f'{slug(name)}-main': self.rows(name) for name in self.collections}
        for name in self.collections:       # released third-party weights, if any
            released = [(m, {}) for m in self.models.values()
                        if m['In Collection'] == name and OFFICIAL_KEY in m]
            if released:
                out[f'{slug(name)}-weights'] = released
        for model in self.models.values():
            for result in model['Results'] or []:
                if result.get('Section'):
                    out.setdefault(result['Section'], []).append((model, result))
        return out


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _label(result) -> str:
    if not isinstance(result, dict):
        return '?'
    return f'{result.get("Task", "?")} / {result.get("Dataset", "?")}'


def _metric_problems(metrics, what: str) -> List[str]:
    if not isinstance(metrics, dict):
        return [f'{what} must be a mapping of metric name to value']
    out = []
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            out.append(f'{what}.{key} must be a number or a string, got {value!r}')
        if key.endswith(' std') and key[:-4] not in metrics:
            out.append(f'{what}.{key} has no mean {key[:-4]!r}')
    return out


def _half_unit(value) -> float:
    """Half a unit of the last printed digit: the most that rounding moved ``value``."""
    text = fmt(value)
    return 0.5 * 10 ** -(len(text.split('.')[1]) if '.' in text else 0)


def _seed_problems(result: dict) -> List[str]:
    """Seeds must agree with the mean ± sample std they are summarised by, up to the
    rounding of the printed figures (half a unit of their last digit)."""
    seeds = result.get('Seeds')
    if seeds is None:
        return []
    if not isinstance(seeds, list) or len(seeds) < 2 or not all(
            isinstance(s, dict) and isinstance(s.get('Metrics'), dict)
            and isinstance(s.get('Baseline'), dict) and 'Seed' in s for s in seeds):
        return ['Seeds must list at least two runs, each with Seed, Metrics and Baseline']
    if not isinstance(result.get('Baseline'), dict):
        return ['Seeds compare two arms: the result needs a Baseline']
    out = []
    arms = [('Metrics', result.get('Metrics') or {}),
            ('Baseline', result['Baseline'].get('Metrics') or {})]
    for arm, summary in arms:
        for key in seeds[0][arm]:
            values = [seed[arm].get(key) for seed in seeds]
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for v in values):
                out.append(f'Seeds: every seed needs a number for {arm}.{key}')
                continue
            mean, std = summary.get(key), summary.get(f'{key} std')
            if not isinstance(mean, (int, float)) or not isinstance(std, (int, float)):
                out.append(f'Seeds: {arm} needs {key!r} and {key + " std"!r} (mean, sample std)')
                continue
            n = len(values)
            half = max(_half_unit(v) for v in values)
            true_mean = sum(values) / n
            true_std = math.sqrt(sum((v - true_mean) ** 2 for v in values) / (n - 1))
            if abs(true_mean - mean) > half + _half_unit(mean) + 1e-9:
                out.append(f'Seeds: {arm}.{key} = {fmt(mean)} is not the mean of the seeds '
                           f'({true_mean:.3f})')
            # a shift of at most `half` per value moves the sample std by at most this much
            if abs(true_std - std) > half * math.sqrt(n / (n - 1)) + _half_unit(std) + 1e-9:
                out.append(f'Seeds: {arm}.{key} std = {fmt(std)} is not the sample std of '
                           f'the seeds ({true_std:.3f})')
    return out


def _per_class_problems(result: dict) -> List[str]:
    rows = result.get('Per Class')
    if rows is None:
        return []
    if not isinstance(rows, list) or not rows:
        return ['Per Class must be a list of rows']
    out = []
    for row in rows:
        values = row.get('Values') if isinstance(row, dict) else None
        if (not isinstance(values, dict) or not row.get('Name') or not values
                or not all(isinstance(v, (int, float)) for v in values.values())):
            out.append('each Per Class row needs Name and Values (class: number)')
            continue
        summary = row.get('Summary')
        if summary is None:
            continue
        total = (result.get('Metrics') or {}).get(summary)
        if not isinstance(total, (int, float)):
            out.append(f'Per Class row {row["Name"]}: Summary {summary!r} is not a metric')
            continue
        mean = sum(values.values()) / len(values)
        if abs(mean - total) > max(map(_half_unit, values.values())) + _half_unit(total) + 1e-9:
            out.append(f'Per Class row {row["Name"]}: {summary} = {fmt(total)} is not the '
                       f'mean of the classes ({mean:.3f})')
    return out


def has_details(result: dict) -> bool:
    """Whether ``result`` needs a detail section of its own (seeds, per-class values or
    a curve of more than two points)."""
    return bool(result.get('Seeds') or result.get('Per Class')
                or any(len(c.get('Points', [])) > 2 for c in result.get('Curves', [])))


def slug(name: str) -> str:
    """A collection name as a section id: ``'TAP'`` -> ``'tap'``."""
    return re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')


def fmt(value) -> str:
    """A metric as the metafile gives it: numbers in Python's shortest form, strings as is."""
    return str(value)
