"""OpenMMLab-style projects that live beside crosspt (loaded through ``custom_imports``)."""
