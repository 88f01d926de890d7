// Package errorlog reads SQL Server error logs (ERRORLOG files) for the entries that
// explain Windows-authentication failures, fast enough for multi-gigabyte logs.
//
// The reader never decodes a whole file. It searches the raw bytes, in the file's own
// encoding (UTF-16 as SQL Server writes it on Windows, UTF-8 on Linux), for strings
// that every entry of interest holds, and decodes only those entries and their
// neighbours. A short time window is found by reading backwards from the end, so a
// read of the last hour touches only the tail of the file.
package errorlog
