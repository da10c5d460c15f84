# xilinx_stubs.tcl -- no-op stand-ins for the Vitis HLS / Vivado / v++ Tcl commands that
# alveoflow's generated scripts call, so plain `tclsh` can run those scripts end to end (a
# syntax error, an unbalanced brace or a misspelled Tcl command then fails without Vitis).
# Usage: tclsh xilinx_stubs.tcl SCRIPT.tcl [args...]   (runs SCRIPT with argv = args)
# Every stub records its name in ::stub_calls and its name and arguments in ::stub_log;
# `get_*` stubs return a placeholder object (`ipx::get_*` an empty list: nothing exists yet).
# With the environment variable AF_STUB_LOG set, the calls are written to that file when the
# script ends (or calls exit): one call a line, the name and each argument tab-separated.

set ::stub_calls {}
set ::stub_log {}

proc stub_define {names result} {
    foreach name $names {
        proc $name {args} "stub_record [list $name] [list $result] \$args"
    }
}

proc stub_record {name result {arguments {}}} {
    lappend ::stub_calls $name
    lappend ::stub_log [list $name {*}$arguments]
    return $result
}

proc stub_write_log {} {
    if {![info exists ::env(AF_STUB_LOG)]} { return }
    set f [open $::env(AF_STUB_LOG) w]
    foreach call $::stub_log { puts $f [join $call "\t"] }
    close $f
}

# Vitis HLS
stub_define {open_project set_top add_files open_solution set_part create_clock config_compile
    config_export config_interface csim_design csynth_design cosim_design export_design} ""
# Vivado project / block design
stub_define {create_project update_ip_catalog create_bd_design create_bd_cell create_bd_port
    create_bd_intf_port connect_bd_net connect_bd_intf_net make_bd_intf_pins_external
    make_bd_pins_external validate_bd_design save_bd_design make_wrapper generate_target
    launch_runs wait_on_run close_project open_project update_compile_order set_property
    add_cells_to_pblock resize_pblock package_xo} ""
stub_define {current_project current_fileset current_bd_design} "stub_object"
stub_define {get_bd_ports get_bd_pins get_bd_intf_pins get_bd_cells get_runs get_files} \
    "stub_object"
stub_define {get_cells get_pblocks} ""
stub_define {create_pblock} "stub_pblock"
# IP packager (ipx::) and the Vitis memory subsystem
namespace eval ipx {}
foreach name {package_project unload_core edit_ip_in_project associate_bus_interfaces
    create_xgui_files update_checksums check_integrity save_core infer_bus_interface} {
    proc ipx::$name {args} "stub_record ipx::$name {} \$args"
}
proc ipx::get_bus_interfaces {args} { stub_record ipx::get_bus_interfaces {} $args }
proc ipx::current_core {args} { return stub_core }
namespace eval sdx_memory_subsystem {}
proc sdx_memory_subsystem::update_plram_specification {args} {
    stub_record sdx_memory_subsystem::update_plram_specification ""
}

if {[info script] eq $argv0 && $argc > 0} {
    set script [lindex $argv 0]
    set argv [lrange $argv 1 end]
    set argc [llength $argv]
    rename exit stub_real_exit
    proc exit {{code 0}} { stub_write_log; stub_real_exit $code }
    source $script
    stub_write_log
}
