//! Why a binary could not be analyzed.

use crate::PluginKind;

/// What is wrong with one descriptor.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DescriptorDefect {
    /// The address is not backed by bytes of the file (for example `.bss`, or past the end).
    OutsideFile,
    /// A string slice points outside the file's data.
    StringOutOfBounds,
    /// A string is not valid UTF-8.
    InvalidUtf8,
    /// A string length exceeds the configured limit.
    AbsurdLength,
    /// A pointer is null, or binds to an imported symbol the file does not define.
    UnresolvedPointer,
}

impl std::fmt::Display for DescriptorDefect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DescriptorDefect::OutsideFile => "descriptor lies outside the file's data",
            DescriptorDefect::StringOutOfBounds => "string points out of bounds",
            DescriptorDefect::InvalidUtf8 => "string is not valid UTF-8",
            DescriptorDefect::AbsurdLength => "string length is absurd",
            DescriptorDefect::UnresolvedPointer => "pointer cannot be resolved statically",
        })
    }
}

/// Why analysis failed. Every variant comes from the input, never from a bug in the caller.
#[non_exhaustive]
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// Not an ELF, PE or Mach-O file.
    #[error("not an ELF, PE or Mach-O binary")]
    UnknownFormat,
    /// The container itself is malformed (truncated headers, bad tables).
    #[error("malformed binary: {0}")]
    Malformed(String),
    /// A well-formed file using a feature the analyzer does not handle.
    #[error("unsupported binary: {0}")]
    Unsupported(String),
    /// A descriptor symbol was found but its contents are invalid.
    #[error("descriptor {export}: {defect}")]
    Descriptor {
        /// The exported symbol name.
        export: String,
        /// What is wrong with it.
        defect: DescriptorDefect,
    },
    /// Two descriptors of the same kind carry the same plugin name.
    #[error("two {} descriptors are both named {name:?}", kind.as_str())]
    DuplicateName {
        /// The kind both descriptors share.
        kind: PluginKind,
        /// The shared name.
        name: String,
    },
    /// More descriptors than the configured limit.
    #[error("more than {0} plugin descriptors in one file")]
    TooManyDescriptors(usize),
}

impl Error {
    pub(crate) fn descriptor(export: &str, defect: DescriptorDefect) -> Self {
        Error::Descriptor {
            export: export.to_owned(),
            defect,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke_every_variant_formats() {
        let all = [
            Error::UnknownFormat,
            Error::Malformed("x".into()),
            Error::Unsupported("y".into()),
            Error::descriptor("MEMFLOW_OS_A", DescriptorDefect::OutsideFile),
            Error::descriptor("MEMFLOW_OS_A", DescriptorDefect::StringOutOfBounds),
            Error::descriptor("MEMFLOW_OS_A", DescriptorDefect::InvalidUtf8),
            Error::descriptor("MEMFLOW_OS_A", DescriptorDefect::AbsurdLength),
            Error::descriptor("MEMFLOW_OS_A", DescriptorDefect::UnresolvedPointer),
            Error::DuplicateName {
                kind: PluginKind::Os,
                name: "a".into(),
            },
            Error::TooManyDescriptors(3),
        ];
        for e in all {
            assert!(!e.to_string().is_empty());
        }
    }
}
