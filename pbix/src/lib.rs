pub mod datamodel;
