"""Multi-stage recipes built on the library (torchtune keeps its recipes beside the library, not inside it).

Nothing in ``videomind/`` imports from here; recipes may write into ``videomind/assets`` (the embedded model).
"""
