"""One module per page; each registers its route in `lxc_manager.lxc_manager`."""
