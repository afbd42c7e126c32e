"""Packaging for iqa_nb, read from settings.ini as nbdev 2 projects do (nbdev_new's template needs GitHub)."""
from configparser import ConfigParser
import setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    author=cfg['author'], license='Apache-2.0', python_requires=f">={cfg['min_python']}",
    packages=setuptools.find_packages(include=['iqa_nb', 'iqa_nb.*']),
    include_package_data=True,
    package_data={'iqa_nb': ['data/*.mat']},   # IL-NIQE's pristine template (iqa_nb/nr_ilniqe.py reads it)
    install_requires=cfg['requirements'].split(),
    extras_require={'dev': cfg['dev_requirements'].split()},
    entry_points={'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"],
                  'console_scripts': cfg.get('console_scripts', '').split()},
)
